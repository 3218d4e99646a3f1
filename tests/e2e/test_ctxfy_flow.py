"""Ctxfy over real HTTP: presign, PUT, public URL, boto3 read-back, sources, and postbacks to a listener."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import ADA, ADA_SPACE, BOB

from upload_emulator.app import emulator_of

AUTH = {"Authorization": f"Bearer {ADA}"}


class Listener:
    """A postback receiver on a free loopback port; answers `failures` 503s before a 200."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[dict] = []
        self.failures = failures
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                status = 503 if len(outer.received) <= outer.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ctxfy-hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    made: list[Listener] = []

    def make(failures: int = 0) -> Listener:
        made.append(Listener(failures))
        return made[-1]

    yield make
    for each in made:
        each.close()


def api(live) -> str:
    return f"{live.url}/ctxfy"


def presign(http, live, data: bytes, key: str = ADA, **body) -> dict:
    body = {"filename": "notes.txt", "contentType": "text/plain", "size": len(data), **body}
    response = http.post(f"{api(live)}/v1/upload/s3", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(predicate, seconds: float = 10.0, step=None):
    """Poll until `predicate()` is truthy (a delivery runs on the emulator's worker thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if step:
            step()
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_presign_put_read_back_with_boto3_and_through_the_public_url(live, http, s3):
    data = os.urandom(1024 * 1024 + 17)
    minted = presign(http, live, data, filename="scan.pdf", contentType="application/pdf")
    before = http.get(minted["publicUrl"], timeout=10)
    assert before.status_code == 404 and ET.fromstring(before.content).findtext("Code") == "NoSuchKey"
    put = http.put(minted["uploadUrl"], data=data, headers={"Content-Type": "application/pdf"}, timeout=30)
    assert put.status_code == 200 and put.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    public = http.get(minted["publicUrl"], timeout=10)
    assert public.status_code == 200 and hashlib.sha256(public.content).digest() == hashlib.sha256(data).digest()
    bucket, key = emulator_of(live.app).bucket_for("ctxfy"), minted["fileKey"]
    read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(read).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_public_url_opens_its_own_object_and_nothing_else(live, http):
    minted = presign(http, live, b"mine")
    http.put(minted["uploadUrl"], data=b"mine", headers={"Content-Type": "text/plain"}, timeout=10)
    scripe = http.post(
        f"{live.url}/scripe/v1/uploads",
        json={"contentType": "text/plain"},
        headers={"Authorization": "Bearer scripe_sk_test_acme_full_access"},
        timeout=10,
    ).json()["data"]
    http.put(scripe["uploadUrl"], data=b"private", headers={"Content-Type": "text/plain"}, timeout=10)
    private_object = scripe["uploadUrl"].split("?")[0]
    bucket_url = minted["publicUrl"].rsplit("/", 4)[0]
    for url, method in [(private_object, "GET"), (bucket_url, "GET"), (minted["publicUrl"], "DELETE")]:
        refused = http.request(method, url, timeout=10)
        assert refused.status_code == 403, (url, method, refused.text)
        assert ET.fromstring(refused.content).findtext("Code") == "AccessDenied"
    assert http.get(minted["publicUrl"], timeout=10).content == b"mine"


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "..\\..\\boot.ini", "/abs/path.txt", "a\x01b\x7f.txt"])
def test_path_tricks_in_a_filename_stay_inside_the_owners_prefix_over_http(live, http, s3, name):
    minted = presign(http, live, b"x", filename=name)
    assert minted["fileKey"].startswith("uploads/usr_ada/upl_") and minted["fileKey"].count("/") == 3
    assert (
        http.put(minted["uploadUrl"], data=b"x", headers={"Content-Type": "text/plain"}, timeout=10).status_code == 200
    )
    listed = s3.list_objects_v2(Bucket=emulator_of(live.app).bucket_for("ctxfy"))["Contents"]
    assert [o["Key"] for o in listed] == [minted["fileKey"]]


def test_every_error_answers_in_ctxfys_envelope_and_leaves_no_state(live, http):
    emu = emulator_of(live.app)
    cases = [
        ({}, {"filename": "a", "contentType": "text/plain", "size": 1}, 401, []),
        (AUTH, {"filename": "a", "contentType": "text/plain", "size": "big"}, 400, ["size"]),
        (AUTH, {"filename": "a", "contentType": "application/zip", "size": 1}, 400, ["contentType"]),
        (AUTH, {}, 400, ["filename", "contentType", "size"]),
    ]
    for headers, body, status, fields in cases:
        response = http.post(f"{api(live)}/v1/upload/s3", json=body, headers=headers, timeout=10)
        assert response.status_code == status, response.text
        answer = response.json()
        assert answer["code"] == status and answer["error"] in ("Bad Request", "Unauthorized")
        assert sorted(d["field"] for d in answer.get("details", [])) == sorted(fields)
    assert emu.uploads.all("ctxfy") == []
    assert [e["status"] for e in emu.journal.entries(vendor="ctxfy")] == [401, 400, 400, 400]


def test_a_free_key_is_rate_limited_over_http_with_the_documented_headers(live, http):
    emulator_of(live.app).clock.freeze()
    statuses = [
        http.post(f"{api(live)}/v1/upload/s3", json={}, headers={"Authorization": f"Bearer {BOB}"}, timeout=10)
        for _ in range(11)
    ]
    assert [r.status_code for r in statuses] == [400] * 10 + [429]
    assert statuses[-1].headers["Retry-After"] == "60" and statuses[-1].headers["X-RateLimit-Remaining"] == "0"
    assert statuses[-1].json()["error"] == "Too Many Requests"


def test_a_source_ends_and_its_postback_reaches_a_real_listener(live, http, listener):
    emu = emulator_of(live.app)
    hook = listener()
    minted = presign(http, live, b"hello")
    http.put(minted["uploadUrl"], data=b"hello", headers={"Content-Type": "text/plain"}, timeout=10)
    body = {"type": "FILE", "initial_data": {"data": minted["fileKey"]}, "instructions": {"postback_url": hook.url}}
    created = http.post(f"{api(live)}/v1/spaces/{ADA_SPACE}/sources", json=body, headers=AUTH, timeout=10)
    assert created.status_code == 201 and created.json()["status"] == "CREATED"
    assert hook.received == []  # nothing is sent before the source ends
    emu.clock.advance(5)
    [received] = wait_for(lambda: hook.received)
    assert received["id"] == created.json()["id"] and received["status"] == "COMPLETED"

    def delivered():
        found = http.get(f"{live.url}/_emulator/deliveries", timeout=10).json()["data"]
        return [d for d in found if d["status"] == "delivered"] or None

    [delivery] = wait_for(delivered)
    assert delivery["url"] == hook.url and delivery["attempts"][0]["status"] == 200


def test_a_failing_listener_is_retried_with_backoff_on_the_clock_until_it_answers(live, http, listener):
    emu = emulator_of(live.app)
    hook = listener(failures=2)
    body = {"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": hook.url}}
    assert http.post(f"{api(live)}/v1/spaces/{ADA_SPACE}/sources", json=body, headers=AUTH, timeout=10).ok
    emu.clock.advance(5)

    def delivered():
        found = http.get(f"{live.url}/_emulator/deliveries?vendor=ctxfy", timeout=10).json()["data"]
        return found if found and found[0]["status"] == "delivered" else None

    [delivery] = wait_for(delivered, step=lambda: emu.clock.advance(1))
    assert [a["status"] for a in delivery["attempts"]] == [503, 503, 200]
    assert len(hook.received) == 3 and all(r == hook.received[0] for r in hook.received)


def test_a_listener_that_never_answers_well_is_given_up_on_after_the_bounded_retries(live, http, listener):
    emu = emulator_of(live.app)
    hook = listener(failures=100)
    body = {"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": hook.url}}
    http.post(f"{api(live)}/v1/spaces/{ADA_SPACE}/sources", json=body, headers=AUTH, timeout=10)
    emu.clock.advance(5)

    def failed():
        found = emu.callbacks.all("ctxfy")
        return found if found and found[0].status == "failed" else None

    [delivery] = wait_for(failed, step=lambda: emu.clock.advance(8))
    assert len(delivery.attempts) == 5 and len(hook.received) == 5

"""Streamloop's stateful rules: pagination, rate limits, idempotency, injected upstream errors, imports."""

from __future__ import annotations

import base64

import pytest
from support import Streamloop, assert_conforms, assert_problem, fixtures_dir_with, make_app

from upload_emulator.app import emulator_of

V = "streamloop"


def walk(streamloop, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(100):
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = streamloop.call("GET", "/uploads" + query).json
        pages.append([u["id"] for u in page["data"]])
        if not page["page"]["hasMore"]:
            assert page["page"]["nextCursor"] is None
            return pages
        cursor = page["page"]["nextCursor"]
    raise AssertionError("the walk did not end")


def test_listing_walks_every_upload_exactly_once_newest_first(app, streamloop):
    created = [streamloop.create(name=f"clip-{n}.mp4").json["id"] for n in range(7)]
    pages = walk(streamloop, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == list(reversed(created))
    assert_conforms(app, "listUploads", streamloop.call("GET", "/uploads?limit=3"), vendor=V)


def test_uploads_created_during_a_walk_do_not_shift_it(streamloop):
    created = [streamloop.create().json["id"] for _ in range(4)]
    first = streamloop.call("GET", "/uploads?limit=2").json
    streamloop.create()
    rest = streamloop.call("GET", f"/uploads?limit=10&cursor={first['page']['nextCursor']}").json
    assert [u["id"] for u in first["data"] + rest["data"]] == list(reversed(created))


def test_the_default_page_is_20(streamloop):
    for _ in range(21):
        streamloop.create()
    page = streamloop.call("GET", "/uploads").json
    assert len(page["data"]) == 20 and page["page"]["hasMore"] is True


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=ten",
        "cursor=not-a-cursor",
        "cursor=" + base64.urlsafe_b64encode(b'{"before": "x"}').decode(),
    ],
)
def test_out_of_range_limits_and_foreign_cursors_are_422_invalid_input(app, streamloop, query):
    response = streamloop.call("GET", f"/uploads?{query}")
    assert_problem(response, 422, "INVALID_INPUT")
    assert_conforms(app, "listUploads", response, vendor=V)


@pytest.fixture
def tight_app(tmp_path):
    def three_per_minute(data):
        data["profile"]["rate_limit"]["limit"] = 3

    app = make_app(fixtures_dir=fixtures_dir_with(tmp_path, "streamloop", three_per_minute))
    yield app
    emulator_of(app).close()


def test_past_the_budget_requests_are_429_rate_limited_until_the_window_resets_on_the_clock(tight_app):
    client = Streamloop(tight_app.test_client())
    emu = emulator_of(tight_app)
    emu.clock.freeze()
    seen = [client.call("GET", "/uploads") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
    limited = seen[-1]
    assert_problem(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"] == "60"
    assert_conforms(tight_app, "listUploads", limited, vendor=V)
    emu.clock.advance(60)
    assert client.call("GET", "/uploads").status_code == 200


def test_budgets_are_per_caller(tight_app):
    client = Streamloop(tight_app.test_client())
    for _ in range(3):
        client.call("GET", "/uploads")
    assert client.call("GET", "/uploads").status_code == 429
    other = Streamloop.auth(key="sl_test_other_api_key", workspace="wksp_other")
    assert client.call("GET", "/uploads", headers=other).status_code == 200


def test_a_retried_create_with_an_idempotency_key_replays_it(app, streamloop, emu):
    headers = {**Streamloop.auth(), "Idempotency-Key": "sl-retry-1"}
    first = streamloop.create(headers=headers)
    again = streamloop.create(headers=headers)
    assert again.status_code == 201 and again.json == first.json
    assert (first.headers["Idempotency-Replayed"], again.headers["Idempotency-Replayed"]) == ("false", "true")
    assert "Idempotent-Replayed" not in again.headers
    assert len(emu.uploads.all()) == 1
    assert_conforms(app, "createUpload", again, vendor=V)


def test_the_same_key_with_another_body_is_422_idempotency_key_reused(app, streamloop):
    headers = {**Streamloop.auth(), "Idempotency-Key": "sl-reuse-1"}
    streamloop.create(headers=headers, name="a.mp4")
    response = streamloop.create(headers=headers, name="b.mp4")
    assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert_conforms(app, "createUpload", response, vendor=V)


def test_client_errors_are_replayed_but_server_errors_are_not_stored(client, streamloop, emu):
    headers = {**Streamloop.auth(workspace="wksp_side"), "Idempotency-Key": "sl-errors-1"}
    bad = [streamloop.create(headers=headers, fileSize=2_000_000_000) for _ in range(2)]  # over the free plan's cap
    assert [r.status_code for r in bad] == [422, 422] and bad[1].headers["Idempotency-Replayed"] == "true"
    headers = {**Streamloop.auth(), "Idempotency-Key": "sl-errors-1"}
    client.post(
        "/_emulator/faults", json={"vendor": "streamloop", "operationId": "createUpload", "status": 500, "times": 1}
    )
    headers["Idempotency-Key"] = "sl-errors-2"
    assert streamloop.create(headers=headers).status_code == 500
    retried = streamloop.create(headers=headers)
    assert retried.status_code == 201 and retried.headers["Idempotency-Replayed"] == "false"


def test_a_validation_error_is_replayed_too_with_the_replay_header(app, client, streamloop, emu):
    headers = {**Streamloop.auth(), "Idempotency-Key": "sl-invalid-1"}
    bad = [streamloop.create(headers=headers, mimeType="not a mime type") for _ in range(2)]
    assert [r.status_code for r in bad] == [422, 422] and bad[1].json == bad[0].json
    assert [r.headers["Idempotency-Replayed"] for r in bad] == ["false", "true"]
    assert_conforms(app, "createUpload", bad[1], vendor=V)
    assert emu.uploads.all() == []
    headers = {**Streamloop.auth(), "Idempotency-Key": "sl-invalid-2", "Content-Type": "application/json"}
    bodies = (
        b'{"name": "x.mp4", "type": "video", "mimeType": "bad"}',
        b'{"mimeType": "bad", "type": "video", "name": "x.mp4"}',
    )
    reordered = [client.post("/streamloop/v1/uploads", data=body, headers=headers) for body in bodies]
    assert reordered[1].headers["Idempotency-Replayed"] == "true"  # the same JSON, whatever the key order


def test_a_fault_makes_upload_url_answer_502_upstream_error(app, client, streamloop):
    upload = streamloop.create().json
    client.post(
        "/_emulator/faults",
        json={"vendor": "streamloop", "operationId": "generateUploadUrl", "status": 502, "times": 1},
    )
    response = streamloop.upload_url(upload["id"])
    assert_problem(response, 502, "UPSTREAM_ERROR")
    assert_conforms(app, "generateUploadUrl", response, vendor=V)
    assert streamloop.upload_url(upload["id"]).status_code == 200


def test_an_import_from_a_link_is_accepted_then_completes_at_the_next_read(app, streamloop):
    response = streamloop.call(
        "POST", "/uploads/from-link", json={"type": "AUDIO", "url": "https://x.test/a/b.mp3", "quality": "BEST"}
    )
    assert response.status_code == 202
    assert_conforms(app, "createUploadFromLink", response, vendor=V)
    upload = response.json
    assert response.headers["Location"] == f"/streamloop/v1/uploads/{upload['id']}"
    assert (upload["type"], upload["name"], upload["uploaded"]) == ("audio", "b.mp3", False)
    assert upload["externalSource"]["state"]["status"] == "PENDING"
    polled = streamloop.call("GET", f"/uploads/{upload['id']}").json
    assert polled["uploaded"] is True and polled["externalSource"]["state"]["status"] == "COMPLETED"


def test_an_import_takes_as_long_as_the_fixtures_say_on_the_clock(tmp_path):
    def slow(data):
        data["profile"]["settings"]["from_link"]["import_s"] = 30

    app = make_app(fixtures_dir=fixtures_dir_with(tmp_path, "streamloop", slow))
    client, emu = Streamloop(app.test_client()), emulator_of(app)
    upload = client.call("POST", "/uploads/from-link", json={"type": "VIDEO", "url": "https://x.test/v"}).json
    assert client.call("GET", f"/uploads/{upload['id']}").json["uploaded"] is False
    emu.clock.advance(30)
    assert client.call("GET", f"/uploads/{upload['id']}").json["uploaded"] is True
    emu.close()


@pytest.mark.parametrize(
    "body", [{"type": "VIDEO"}, {"type": "IMAGE", "url": "https://x.test"}, {"type": "VIDEO", "url": "ftp://x.test/a"}]
)
def test_a_bad_import_is_422_invalid_input(app, streamloop, body):
    response = streamloop.call("POST", "/uploads/from-link", json=body)
    assert_problem(response, 422, "INVALID_INPUT")
    assert_conforms(app, "createUploadFromLink", response, vendor=V)

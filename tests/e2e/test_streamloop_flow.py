"""Streamloop over real HTTP: the upload flow, pagination, and every documented error status."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET

import pytest
from support import OTHER_KEY, STUDIO_KEY, TOKEN_READ, TOKEN_RW, raw_put

from upload_emulator.app import emulator_of
from upload_emulator.openapi.checks import response_problems

AUTH = {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}
CLIP = {"mimeType": "video/mp4", "name": "clip.mp4", "type": "video"}


def api(live) -> str:
    return f"{live.url}/streamloop/v1"


def conforms(live, operation_id: str, response) -> None:
    """The live response is documented for the Streamloop operation, body and required headers."""
    vendor = emulator_of(live.app).vendors["streamloop"]
    op = next(o for o in vendor.spec.operations if o.operation_id == operation_id)
    body = response.json() if response.content else None
    problems = response_problems(op, response.status_code, response.headers.get("Content-Type", ""), body)
    assert not problems, problems
    required = [n for n, req in vendor.spec.response_headers(op, response.status_code).items() if req]
    assert all(name in response.headers for name in required), required
    if response.status_code >= 400:
        assert body["type"] == "about:blank" and body["status"] == response.status_code


def create(live, http, headers=AUTH, **body):
    return http.post(f"{api(live)}/uploads", json={**CLIP, **body}, headers=headers)


def test_create_upload_url_put_complete_get_and_read_back_with_boto3(live, http, s3):
    payload = os.urandom(2 * 1024 * 1024 + 3)
    upload = create(live, http).json()
    url = http.post(f"{api(live)}/uploads/{upload['id']}/upload-url", headers=AUTH)
    conforms(live, "generateUploadUrl", url)
    put = http.put(url.json(), data=payload, headers={"Content-Type": "video/mp4"})
    assert put.status_code == 200
    done = http.post(f"{api(live)}/uploads/{upload['id']}/complete", headers=AUTH)
    conforms(live, "completeUpload", done)
    fetched = http.get(f"{api(live)}/uploads/{upload['id']}", headers=AUTH).json()
    assert (fetched["uploaded"], fetched["fileSize"]) == (True, len(payload))
    record = emulator_of(live.app).uploads.get(upload["id"])
    body = s3.get_object(Bucket=record.bucket, Key=record.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest() == record.sha256


def test_listing_over_http_walks_every_upload_exactly_once(live, http):
    created = {create(live, http, name=f"c{n}.mp4").json()["id"] for n in range(11)}
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{api(live)}/uploads", params=params, headers=AUTH)
        conforms(live, "listUploads", page)
        seen += [u["id"] for u in page.json()["data"]]
        cursor = page.json()["page"]["nextCursor"]
        if not page.json()["page"]["hasMore"]:
            break
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == created


def test_a_put_with_another_content_type_than_the_mime_type_is_refused(live, http):
    upload = create(live, http).json()
    url = http.post(f"{api(live)}/uploads/{upload['id']}/upload-url", headers=AUTH).json()
    response = http.put(url, data=b"x", headers={"Content-Type": "video/quicktime"})
    assert response.status_code == 403
    assert ET.fromstring(response.content).findtext("Code") == "SignatureDoesNotMatch"
    assert http.post(f"{api(live)}/uploads/{upload['id']}/complete", headers=AUTH).status_code == 409


def test_a_put_over_the_free_plan_cap_is_refused_at_once_without_reading_the_body(live, http):
    side = {**AUTH, "X-Workspace-Id": "wksp_side"}
    upload = create(live, http, headers=side).json()
    url = http.post(f"{api(live)}/uploads/{upload['id']}/upload-url", headers=side).json()
    reply = raw_put(url, "video/mp4", 1_600_000_000, b"x" * 1000)
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"<Code>EntityTooLarge</Code>" in reply and b"<MaxSizeAllowed>1500000000</MaxSizeAllowed>" in reply
    assert emulator_of(live.app).uploads.get(upload["id"]).state == "pending"


def _fault(live, http, operation, status):
    http.post(
        f"{live.url}/_emulator/faults",
        json={"vendor": "streamloop", "operationId": operation, "status": status, "times": 1},
    )


CASES = {
    "400 WORKSPACE_REQUIRED": (
        "createUpload",
        lambda live, http: create(live, http, headers={"X-API-Key": STUDIO_KEY}),
    ),
    "400 BAD_REQUEST": (
        "createUpload",
        lambda live, http: http.post(
            f"{api(live)}/uploads", data=b"{", headers={**AUTH, "Content-Type": "application/json"}
        ),
    ),
    "401 UNAUTHENTICATED": ("createUpload", lambda live, http: create(live, http, headers={})),
    "403 INSUFFICIENT_SCOPE": (
        "createUpload",
        lambda live, http: create(live, http, headers={"Authorization": f"Bearer {TOKEN_READ}"}),
    ),
    "403 WORKSPACE_FORBIDDEN": (
        "createUpload",
        lambda live, http: create(live, http, headers={**AUTH, "X-Workspace-Id": "wksp_other"}),
    ),
    "404 NOT_FOUND": (
        "getUpload",
        lambda live, http: http.get(
            f"{api(live)}/uploads/{create(live, http).json()['id']}",
            headers={"X-API-Key": OTHER_KEY, "X-Workspace-Id": "wksp_other"},
        ),
    ),
    "409 UPLOAD_INCOMPLETE": (
        "completeUpload",
        lambda live, http: http.post(f"{api(live)}/uploads/{create(live, http).json()['id']}/complete", headers=AUTH),
    ),
    "422 INVALID_INPUT": (
        "listUploads",
        lambda live, http: http.get(f"{api(live)}/uploads", params={"order": "asc"}, headers=AUTH),
    ),
    "422 UNSUPPORTED_TYPE": ("createUpload", lambda live, http: create(live, http, mimeType="image/tiff")),
    "422 FILE_TOO_LARGE": ("createUpload", lambda live, http: create(live, http, fileSize=6_000_000_000)),
    "429 RATE_LIMITED": (
        "listUploads",
        lambda live, http: (_fault(live, http, "listUploads", 429), http.get(f"{api(live)}/uploads", headers=AUTH))[1],
    ),
    "502 UPSTREAM_ERROR": (
        "generateUploadUrl",
        lambda live, http: (
            _fault(live, http, "generateUploadUrl", 502),
            http.post(f"{api(live)}/uploads/{create(live, http).json()['id']}/upload-url", headers=AUTH),
        )[1],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_documented_error_status_over_http_is_a_conforming_problem(live, http, case):
    operation, make = CASES[case]
    response = make(live, http)
    status, code = case.split(" ", 1)
    assert (response.status_code, response.json()["code"]) == (int(status), code)
    conforms(live, operation, response)


def test_409_already_completed_and_422_removed_and_reused_keys_over_http(live, http):
    upload = create(live, http).json()
    url = http.post(f"{api(live)}/uploads/{upload['id']}/upload-url", headers=AUTH).json()
    http.put(url, data=b"bytes", headers={"Content-Type": "video/mp4"})
    http.post(f"{api(live)}/uploads/{upload['id']}/complete", headers=AUTH)
    again = http.post(f"{api(live)}/uploads/{upload['id']}/complete", headers=AUTH)
    assert again.json()["code"] == "UPLOAD_ALREADY_COMPLETED"
    conforms(live, "completeUpload", again)
    assert http.delete(f"{api(live)}/uploads/{upload['id']}", headers=AUTH).status_code == 204
    removed = http.post(f"{api(live)}/uploads/{upload['id']}/upload-url", headers=AUTH)
    assert (removed.status_code, removed.json()["code"]) == (422, "UPLOAD_REMOVED")
    conforms(live, "generateUploadUrl", removed)
    keyed = {"Authorization": f"Bearer {TOKEN_RW}", "Idempotency-Key": "http-reuse"}
    create(live, http, headers=keyed, name="a.mp4")
    reused = create(live, http, headers=keyed, name="b.mp4")
    assert (reused.status_code, reused.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    conforms(live, "createUpload", reused)

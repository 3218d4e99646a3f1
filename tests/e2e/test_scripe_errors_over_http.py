"""Every documented Scripe error, over real HTTP, in Scripe's envelope, with nothing stored."""

from __future__ import annotations

import pytest
from support import EXPIRED, FREEBIE, FULL, READ_ONLY, REVOKED

from upload_emulator.app import emulator_of

CASES = [
    # (description, key, extra headers, body or raw bytes, status, code)
    ("no credentials", None, {}, {"contentType": "audio/mpeg"}, 401, "unauthenticated"),
    ("unknown key", "scripe_sk_test_unknown_key_000", {}, {"contentType": "audio/mpeg"}, 401, "invalid_token"),
    ("revoked key", REVOKED, {}, {"contentType": "audio/mpeg"}, 401, "key_revoked"),
    ("expired key", EXPIRED, {}, {"contentType": "audio/mpeg"}, 401, "key_expired"),
    ("no write scope", READ_ONLY, {}, {"contentType": "audio/mpeg"}, 403, "scope_missing"),
    ("ineligible plan", FREEBIE, {}, {"contentType": "audio/mpeg"}, 403, "plan_not_eligible"),
    (
        "unknown version",
        FULL,
        {"Scripe-Api-Version": "2020-02-02"},
        {"contentType": "audio/mpeg"},
        400,
        "version_unsupported",
    ),
    ("missing contentType", FULL, {}, {"maxSizeBytes": 5}, 400, "invalid_request"),
    ("malformed JSON", FULL, {}, b"{oops", 400, "invalid_request"),
    ("type not allowed", FULL, {}, {"contentType": "application/zip"}, 422, "unprocessable"),
    ("size below 1", FULL, {}, {"contentType": "audio/mpeg", "maxSizeBytes": 0}, 422, "unprocessable"),
    ("size over cap", FULL, {}, {"contentType": "image/png", "maxSizeBytes": 10**9}, 422, "unprocessable"),
    ("body over 256 KB", FULL, {}, {"contentType": "audio/mpeg", "x": "y" * 300_000}, 413, "payload_too_large"),
]


@pytest.mark.parametrize(("what", "key", "headers", "body", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_minting_errors_over_http_have_scripes_shape_and_store_nothing(
    live, http, what, key, headers, body, status, code
):
    sent = {"Content-Type": "application/json", **headers}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else None
    response = http.post(
        f"{live.url}/scripe/v1/uploads", headers=sent, data=data, json=None if data is not None else body
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]
    emu = emulator_of(live.app)
    assert emu.uploads.all() == []
    journaled = emu.journal.entries()[-1]
    assert (journaled["status"], journaled["errorCode"]) == (status, code)


def test_an_idempotency_conflict_over_http_is_409_and_keeps_one_upload(live, http):
    auth = {"Authorization": f"Bearer {FULL}", "Idempotency-Key": "http-conflict"}
    first = http.post(f"{live.url}/scripe/v1/uploads", headers=auth, json={"contentType": "audio/mpeg"})
    second = http.post(f"{live.url}/scripe/v1/uploads", headers=auth, json={"contentType": "audio/wav"})
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_conflict"
    assert len(emulator_of(live.app).uploads.all()) == 1


def test_another_workspaces_job_by_path_is_404_over_http(live, http):
    from support import GLOBEX

    minted = http.post(
        f"{live.url}/scripe/v1/uploads", headers={"Authorization": f"Bearer {FULL}"}, json={"contentType": "audio/mpeg"}
    ).json()["data"]
    http.put(minted["uploadUrl"], data=b"x", headers={"Content-Type": "audio/mpeg"})
    job = http.post(
        f"{live.url}/scripe/v1/sources",
        headers={"Authorization": f"Bearer {FULL}"},
        json={"type": "file", "projectId": "p", "uploadId": minted["id"]},
    ).json()["data"]
    response = http.get(f"{live.url}/scripe/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {GLOBEX}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_large_but_allowed_json_body_is_read_whole_over_http(live, http):
    text = "word " * 40_000  # 200 KB, under the 256 KB cap
    response = http.post(
        f"{live.url}/scripe/v1/sources",
        headers={"Authorization": f"Bearer {FULL}"},
        json={"type": "text", "projectId": "p", "text": text},
    )
    assert response.status_code == 200
    assert response.json()["data"]["textPreviewTruncated"] is True

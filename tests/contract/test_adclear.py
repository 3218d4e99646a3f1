"""Adclear against its spec: initiation, chunks with Content-Range, resume, delete, promotions."""

from __future__ import annotations

import hashlib

import pytest
from support import (
    ACME_WS,
    ADCLEAR_GLOBEX,
    ADCLEAR_KEY,
    ADCLEAR_REVOKED,
    ADCLEAR_SESSION,
    LEGAL_WS,
    adclear_auth,
    assert_adclear_error,
    assert_conforms,
)

MIB = 1024 * 1024


def conforms(app, operation_id, response):
    assert_conforms(app, operation_id, response, vendor="adclear")
    return response


def stored(emu, upload_id: str) -> bytes | None:
    record = emu.uploads.get(upload_id)
    found = emu.storage.head(record.bucket, record.key)
    return None if found is None else b"".join(emu.storage.iter_content(record.bucket, record.key))


# --- initiation ---------------------------------------------------------------------------
def test_initiation_returns_a_uuid_a_relative_chunk_url_and_the_chunk_size(app, adclear, emu):
    response = conforms(app, "initiateUpload", adclear.initiate())
    body = response.json
    assert response.status_code == 200 and len(body["uploadId"]) == 36
    assert body["uploadUrl"] == f"/adclear/v1/uploads/{body['uploadId']}"
    assert body["maxChunkSize"] == 50 * MIB and len(body["correlationId"]) == 36
    assert conforms(app, "getUpload", adclear.status(body["uploadUrl"])).json["status"] == "pending"


@pytest.mark.parametrize(
    ("content_type", "limit"),
    [("application/pdf", 30 * MIB), ("image/webp", 30 * MIB), ("video/quicktime", 2048 * MIB), ("text/html", 10 * MIB)],
)
def test_each_format_has_its_limit_and_one_byte_more_is_413(app, adclear, emu, content_type, limit):
    assert adclear.initiate(contentType=content_type, fileSize=limit).status_code == 200
    over = conforms(app, "initiateUpload", adclear.initiate(contentType=content_type, fileSize=limit + 1))
    assert_adclear_error(over, 413, "PAYLOAD_TOO_LARGE", "fileSize")
    assert len(emu.uploads.all("adclear")) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"fileName": ""}, ["fileName"]),
        ({"fileSize": "big"}, ["fileSize"]),
        ({"contentType": ""}, ["contentType"]),
        ({"contentType": "application/zip"}, ["contentType"]),
        ({"fileName": "", "fileSize": -1, "contentType": "x"}, ["fileName", "fileSize", "contentType"]),
    ],
)
def test_a_bad_initiation_is_400_validation_error_naming_each_field_and_records_nothing(
    app, adclear, emu, body, fields
):
    assert_adclear_error(conforms(app, "initiateUpload", adclear.initiate(**body)), 400, "VALIDATION_ERROR", *fields)
    assert emu.uploads.all("adclear") == []


# --- who is calling -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "status", "code", "fields"),
    [
        ({}, 401, "UNAUTHORIZED", []),
        ({"Authorization": "Basic abc"}, 401, "UNAUTHORIZED", []),
        (adclear_auth("adc_key_nope_nope"), 401, "UNAUTHORIZED", []),
        (adclear_auth(ADCLEAR_REVOKED), 401, "UNAUTHORIZED", []),
        (adclear_auth(user=None), 400, "VALIDATION_ERROR", ["x-external-user-id"]),
        (adclear_auth(ADCLEAR_SESSION, user=None), 400, "VALIDATION_ERROR", []),
        (adclear_auth(ADCLEAR_SESSION, workspace="d2f0c6a8-1b3e-4c5d-8e7f-9a0b1c2d3e4f"), 403, "FORBIDDEN", []),
        (adclear_auth(ADCLEAR_SESSION, workspace="not-a-uuid"), 403, "FORBIDDEN", []),
    ],
    ids=[
        "none",
        "basic",
        "unknown",
        "revoked",
        "key-without-user",
        "session-without-workspace",
        "foreign-ws",
        "bad-ws",
    ],
)
def test_bad_credentials_are_refused_in_adclears_shape_and_record_nothing(
    app, adclear, emu, headers, status, code, fields
):
    response = conforms(app, "initiateUpload", adclear.initiate(headers))
    assert_adclear_error(response, status, code, *fields)
    assert emu.uploads.all("adclear") == []


def test_a_session_token_acts_in_the_workspace_it_names(app, adclear, emu):
    legal = adclear.initiate(adclear_auth(ADCLEAR_SESSION, user=None, workspace=LEGAL_WS)).json
    assert emu.uploads.get(legal["uploadId"]).workspace == LEGAL_WS
    assert adclear.status(legal["uploadUrl"], adclear_auth(ADCLEAR_SESSION, workspace=ACME_WS)).status_code == 404
    assert adclear.status(legal["uploadUrl"], adclear_auth(ADCLEAR_SESSION, workspace=LEGAL_WS)).status_code == 200


def test_the_external_users_email_is_recorded_in_the_journal_for_audit(adclear, emu):
    adclear.initiate({**adclear_auth(), "x-external-user-email": "ada@example.com"})
    [entry] = emu.journal.entries(vendor="adclear")
    assert entry["header:x-external-user-email"] == "ada@example.com"
    assert entry["header:x-external-user-id"] == "user_abc123"


def test_another_workspaces_upload_is_404_on_every_route(app, adclear, emu):
    url = adclear.completed()["uploadUrl"]
    upload_id = url.rsplit("/", 1)[1]
    other = adclear_auth(ADCLEAR_GLOBEX)
    for response, operation in [
        (adclear.status(url, other), "getUpload"),
        (adclear.chunk(url, b"x", "bytes 0-0/10", other), "uploadChunk"),
        (adclear.call("DELETE", url.removeprefix("/adclear"), other), "deleteUpload"),
        (adclear.call("POST", "/v1/promotions", other, json={"uploadIds": [upload_id]}), "createPromotion"),
    ]:
        assert_adclear_error(conforms(app, operation, response), 404, "NOT_FOUND")
    assert stored(emu, upload_id) == b"0123456789"


# --- chunks -------------------------------------------------------------------------------
def test_chunks_in_order_complete_the_upload_and_land_byte_identical(app, adclear, emu):
    data = bytes(range(256)) * 40
    started = adclear.initiate(fileSize=len(data)).json
    url = started["uploadUrl"]
    answers = [
        conforms(app, "uploadChunk", adclear.chunk(url, data[a : b + 1], f"bytes {a}-{b}/{len(data)}"))
        for a, b in [(0, 4095), (4096, 8191), (8192, len(data) - 1)]
    ]
    assert [(a.json["status"], a.json["bytesReceived"]) for a in answers] == [
        ("uploading", 4096),
        ("uploading", 8192),
        ("completed", len(data)),
    ]
    record = emu.uploads.get(started["uploadId"])
    assert record.state == "uploaded" and record.sha256 == hashlib.sha256(data).hexdigest()
    assert stored(emu, started["uploadId"]) == data
    final = conforms(app, "getUpload", adclear.status(url)).json
    assert (final["status"], final["bytesReceived"], final["fileName"]) == ("completed", len(data), "brief.pdf")
    assert final["completedAt"] is not None


@pytest.mark.parametrize(
    ("data", "content_range", "field"),
    [
        (b"01234", None, "Content-Range"),
        (b"01234", "bytes 0-4", "Content-Range"),
        (b"01234", "items 0-4/10", "Content-Range"),
        (b"0123", "bytes 0-4/10", "Content-Range"),
        (b"01234", "bytes 0-4/11", "Content-Range"),
        (b"01234", "bytes 4-0/10", "Content-Range"),
        (b"01234", "bytes 8-12/10", "Content-Range"),
        (b"01234", "bytes 5-9/10", "Content-Range"),
        (b"x", "bytes */10", "Content-Range"),
    ],
    ids=[
        "missing",
        "no-total",
        "wrong-unit",
        "length-not-span",
        "total-not-size",
        "backwards",
        "past-end",
        "gap",
        "probe-with-body",
    ],
)
def test_a_bad_chunk_is_400_on_content_range_and_stores_nothing(app, adclear, emu, data, content_range, field):
    started = adclear.initiate().json
    headers = adclear_auth()
    if content_range is not None:
        headers["Content-Range"] = content_range
    response = conforms(app, "uploadChunk", adclear.client.put(started["uploadUrl"], data=data, headers=headers))
    assert_adclear_error(response, 400, "VALIDATION_ERROR", field)
    assert adclear.status(started["uploadUrl"]).json["bytesReceived"] == 0


def test_a_chunk_larger_than_max_chunk_size_is_413(app, adclear, emu):
    size = 50 * MIB + 2
    started = adclear.initiate(fileSize=size, contentType="video/mp4").json
    response = adclear.chunk(started["uploadUrl"], b"", f"bytes 0-{size - 1}/{size}")
    assert_adclear_error(conforms(app, "uploadChunk", response), 413, "PAYLOAD_TOO_LARGE")


def test_a_resent_chunk_is_harmless_and_an_overlapping_one_adds_only_the_new_bytes(app, adclear, emu):
    url = adclear.initiate().json["uploadUrl"]
    adclear.chunk(url, b"01234", "bytes 0-4/10")
    again = conforms(app, "uploadChunk", adclear.chunk(url, b"01234", "bytes 0-4/10"))
    assert again.json["bytesReceived"] == 5
    overlap = conforms(app, "uploadChunk", adclear.chunk(url, b"3456789", "bytes 3-9/10"))
    assert overlap.json == {**overlap.json, "status": "completed", "bytesReceived": 10}
    assert stored(emu, url.rsplit("/", 1)[1]) == b"0123456789"


def test_a_status_probe_reports_the_bytes_held_without_sending_any(app, adclear):
    url = adclear.initiate().json["uploadUrl"]
    adclear.chunk(url, b"0123", "bytes 0-3/10")
    probe = conforms(app, "uploadChunk", adclear.chunk(url, b"", "bytes */10"))
    assert (probe.json["status"], probe.json["bytesReceived"]) == ("uploading", 4)


def test_a_put_after_completion_is_409_conflict_and_changes_nothing(app, adclear, emu):
    started = adclear.completed()
    response = conforms(app, "uploadChunk", adclear.chunk(started["uploadUrl"], b"abcdefghij", "bytes 0-9/10"))
    assert_adclear_error(response, 409, "CONFLICT")
    assert stored(emu, started["uploadId"]) == b"0123456789"


def test_an_outcome_rule_can_make_an_upload_end_failed(app, client, adclear, emu):
    client.post("/_emulator/outcomes", json={"vendor": "adclear", "kind": "upload", "result": "failed", "times": 1})
    started = adclear.initiate().json
    answer = conforms(app, "uploadChunk", adclear.chunk(started["uploadUrl"], b"0123456789", "bytes 0-9/10"))
    assert answer.json["status"] == "failed"
    assert emu.uploads.get(started["uploadId"]).state == "pending" and stored(emu, started["uploadId"]) is None
    assert_adclear_error(adclear.chunk(started["uploadUrl"], b"0123456789", "bytes 0-9/10"), 409, "CONFLICT")
    assert adclear.completed()  # the rule was used once


# --- delete -------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["pending", "uploading", "completed"])
def test_delete_removes_the_bytes_and_the_session_at_any_stage(app, adclear, emu, stage):
    started = adclear.completed() if stage == "completed" else adclear.initiate().json
    if stage == "uploading":
        adclear.chunk(started["uploadUrl"], b"012", "bytes 0-2/10")
    path = started["uploadUrl"].removeprefix("/adclear")
    deleted = conforms(app, "deleteUpload", adclear.call("DELETE", path))
    assert deleted.json["success"] is True
    assert stored(emu, started["uploadId"]) is None
    assert_adclear_error(conforms(app, "getUpload", adclear.status(started["uploadUrl"])), 404, "NOT_FOUND")
    assert_adclear_error(adclear.chunk(started["uploadUrl"], b"0", "bytes 0-0/10"), 404, "NOT_FOUND")
    assert_adclear_error(adclear.call("DELETE", path), 404, "NOT_FOUND")


# --- promotions ---------------------------------------------------------------------------
def test_completed_uploads_can_be_promoted_and_promoted_again(app, adclear):
    ids = [adclear.completed()["uploadId"] for _ in range(2)]
    first = conforms(app, "createPromotion", adclear.call("POST", "/v1/promotions", json={"uploadIds": ids}))
    again = conforms(app, "createPromotion", adclear.call("POST", "/v1/promotions", json={"uploadIds": ids[:1]}))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json["promotionId"] != again.json["promotionId"] and first.json["status"] == "submitted"


def test_promoting_an_incomplete_upload_is_409_upload_not_ready_per_upload(app, adclear):
    done = adclear.completed()["uploadId"]
    pending = adclear.initiate().json["uploadId"]
    response = adclear.call("POST", "/v1/promotions", json={"uploadIds": [done, pending]})
    body = assert_adclear_error(
        conforms(app, "createPromotion", response), 409, "CONFLICT", "uploadIds[1]", detail_type="upload_not_ready"
    )
    assert len(body["error"]["details"]) == 1


@pytest.mark.parametrize("ids", [[], [f"id{n}" for n in range(11)]], ids=["none", "eleven"])
def test_a_promotion_takes_one_to_ten_uploads(app, adclear, ids):
    response = adclear.call("POST", "/v1/promotions", json={"uploadIds": ids})
    assert_adclear_error(conforms(app, "createPromotion", response), 400, "VALIDATION_ERROR", "uploadIds")


# --- rate limits --------------------------------------------------------------------------
def test_initiation_is_limited_to_30_a_minute_per_key_but_chunks_and_status_are_not(app, adclear, emu):
    emu.clock.freeze()
    answers = [adclear.initiate() for _ in range(31)]
    assert [a.status_code for a in answers] == [200] * 30 + [429]
    limited = conforms(app, "initiateUpload", answers[-1])
    assert_adclear_error(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"] == "60"
    url = answers[0].json["uploadUrl"]
    assert all(adclear.chunk(url, b"", "bytes */10").status_code == 200 for _ in range(40))
    assert all(adclear.status(url).status_code == 200 for _ in range(40))
    assert adclear.initiate(adclear_auth(ADCLEAR_SESSION, workspace=ACME_WS)).status_code == 200  # another key
    emu.clock.advance(60)
    assert adclear.initiate().status_code == 200


def test_promotions_have_a_budget_of_their_own(adclear, emu):
    emu.clock.freeze()
    upload_id = adclear.completed()["uploadId"]
    statuses = [adclear.call("POST", "/v1/promotions", json={"uploadIds": [upload_id]}).status_code for _ in range(61)]
    assert statuses == [201] * 60 + [429]


def test_single_vendor_mode_gives_a_root_relative_upload_url():
    from support import make_app

    app = make_app(single_vendor="adclear")
    response = app.test_client().post(
        "/v1/uploads",
        json={"fileName": "a.pdf", "fileSize": 3, "contentType": "application/pdf"},
        headers=adclear_auth(ADCLEAR_KEY),
    )
    assert response.json["uploadUrl"] == f"/v1/uploads/{response.json['uploadId']}"
    app.extensions["upload_emulator"].close()


def test_the_control_api_mints_session_tokens_that_act_in_the_workspace_they_name(app, client, adclear):
    made = client.post("/_emulator/keys", json={"vendor": "adclear", "workspace": ACME_WS, "kind": "session"}).json
    assert made["key"].startswith("adc_sess_") and made["kind"] == "session"
    answer = adclear.initiate({"Authorization": f"Bearer {made['key']}", "x-adclear-workspace-id": ACME_WS})
    assert conforms(app, "initiateUpload", answer).status_code == 200

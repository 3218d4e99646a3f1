"""POST /v1/uploads: the contract Scripe documents, checked against specs/scripe.yaml."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import (
    EXPIRED,
    FREEBIE,
    FULL,
    GLOBEX,
    READ_ONLY,
    REVOKED,
    SOURCES_ONLY,
    assert_conforms,
    assert_scripe_error,
    fixtures_dir_with,
    make_app,
)

from upload_emulator.app import emulator_of
from upload_emulator.core.clock import parse_iso


def test_minting_returns_a_handle_a_presigned_put_url_and_an_expiry_fifteen_minutes_out(app, scripe, emu):
    emu.clock.freeze()
    response = scripe.mint(contentType="audio/mpeg", maxSizeBytes=104857600)
    assert response.status_code == 200
    assert_conforms(app, "createUpload", response, vendor="scripe")
    data = response.json["data"]
    assert data["id"].startswith("upl_")
    assert data["method"] == "PUT"
    assert data["contentType"] == "audio/mpeg"
    assert data["maxSizeBytes"] == 104857600
    expected = emu.clock.now() + timedelta(minutes=15)
    assert abs(parse_iso(data["expiresAt"]) - expected) < timedelta(milliseconds=1)
    assert "X-Amz-Signature=" in data["uploadUrl"] and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in data["uploadUrl"]
    assert "X-Amz-SignedHeaders=content-type%3Bhost" in data["uploadUrl"]
    assert "X-Amz-Expires=900" in data["uploadUrl"]
    record = emu.uploads.get(data["id"])
    assert (record.workspace, record.state, record.max_size_bytes) == ("org_acme", "pending", 104857600)


def test_minting_without_max_size_defaults_to_the_types_cap(scripe):
    assert scripe.mint(contentType="image/png").json["data"]["maxSizeBytes"] == 25 * 1024 * 1024


def test_every_response_carries_a_request_id_and_echoes_the_api_version(scripe):
    response = scripe.mint()
    assert response.headers["X-Request-Id"].startswith("req_")
    assert response.headers["Scripe-Api-Version"] == "2026-08-01"


def test_an_accepted_api_version_is_echoed_back(scripe):
    response = scripe.mint(headers={"Scripe-Api-Version": "2026-08-01"})
    assert response.status_code == 200
    assert response.headers["Scripe-Api-Version"] == "2026-08-01"


def test_an_unknown_api_version_is_400_version_unsupported_listing_the_accepted_ones(app, scripe, emu):
    response = scripe.mint(headers={"Scripe-Api-Version": "2019-01-01"})
    error = assert_scripe_error(response, 400, "version_unsupported")
    assert error["details"]["accepted"] == ["2026-08-01"]
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "unauthenticated"),
        ({"Authorization": "Bearer"}, "unauthenticated"),
        ({"Authorization": "Bearer not-a-scripe-key"}, "invalid_token"),
        ({"Authorization": "Bearer scripe_sk_test_nobody_has_this_key"}, "invalid_token"),
        ({"Authorization": f"Bearer {REVOKED}"}, "key_revoked"),
        ({"Authorization": f"Bearer {EXPIRED}"}, "key_expired"),
    ],
)
def test_bad_credentials_are_401_with_the_documented_code_and_store_nothing(app, scripe, emu, headers, code):
    response = scripe.mint(key=None, headers=headers)
    assert_scripe_error(response, 401, code)
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []
    entry = emu.journal.entries()[-1]
    assert (entry["operationId"], entry["status"], entry["errorCode"]) == ("createUpload", 401, code)


def test_a_key_without_a_write_scope_is_403_scope_missing_naming_the_accepted_scopes(app, scripe, emu):
    response = scripe.mint(key=READ_ONLY)
    error = assert_scripe_error(response, 403, "scope_missing")
    assert error["details"]["required"] == ["knowledge:write", "sources:write"]
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


def test_either_write_scope_is_enough_to_mint(scripe):
    assert scripe.mint(key=SOURCES_ONLY).status_code == 200


def test_a_workspace_whose_plan_has_no_api_access_is_403_plan_not_eligible(app, scripe, emu):
    response = scripe.mint(key=FREEBIE)
    assert_scripe_error(response, 403, "plan_not_eligible")
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


def test_a_key_created_at_run_time_with_an_ineligible_plan_is_refused(client, scripe, emu):
    created = client.post(
        "/_emulator/keys",
        json={"vendor": "scripe", "workspace": "org_new", "plan": "SOLO", "scopes": ["sources:write"]},
    )
    assert created.status_code == 201
    assert_scripe_error(scripe.mint(key=created.json["key"]), 403, "plan_not_eligible")


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({}, 400, "invalid_request", "contentType"),
        ({"maxSizeBytes": 10}, 400, "invalid_request", "contentType"),
        ({"contentType": 42}, 400, "invalid_request", "contentType"),
        ({"contentType": "audio/mpeg", "maxSizeBytes": "big"}, 400, "invalid_request", "maxSizeBytes"),
        ({"contentType": "audio/mpeg", "maxSizeBytes": 1.5}, 400, "invalid_request", "maxSizeBytes"),
        ({"contentType": "application/x-msdownload"}, 422, "unprocessable", "contentType"),
        ({"contentType": "audio/mpeg", "maxSizeBytes": 0}, 422, "unprocessable", "maxSizeBytes"),
        ({"contentType": "audio/mpeg", "maxSizeBytes": -5}, 422, "unprocessable", "maxSizeBytes"),
        ({"contentType": "image/png", "maxSizeBytes": 25 * 1024 * 1024 + 1}, 422, "unprocessable", "maxSizeBytes"),
    ],
)
def test_invalid_bodies_get_scripes_documented_error_naming_the_parameter(app, client, emu, body, status, code, param):
    response = client.post("/scripe/v1/uploads", json=body, headers={"Authorization": f"Bearer {FULL}"})
    error = assert_scripe_error(response, status, code)
    assert error["details"]["param"] == param
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"a string"', "application/json"),
        (b'{"contentType": "audio/mpeg"}', "text/plain"),
        (b'{"contentType": "audio/mpeg"}', None),
        (b"\xff\xfe\x00garbage", "application/json"),
    ],
)
def test_malformed_requests_are_400_invalid_request_never_a_500(app, client, emu, data, content_type):
    headers = {"Authorization": f"Bearer {FULL}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/scripe/v1/uploads", data=data, headers=headers)
    assert_scripe_error(response, 400, "invalid_request")
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


def test_a_body_over_the_256_kb_hashing_cap_is_413_payload_too_large(app, client, emu):
    big = {"contentType": "audio/mpeg", "padding": "x" * (256 * 1024)}
    response = client.post("/scripe/v1/uploads", json=big, headers={"Authorization": f"Bearer {FULL}"})
    assert_scripe_error(response, 413, "payload_too_large")
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert emu.uploads.all() == []


def test_the_reference_cap_table_can_be_switched_on_with_fixtures(tmp_path):
    def use_reference(data):
        data["profile"]["settings"]["uploads"]["caps"] = "reference"

    app = make_app(fixtures_dir=fixtures_dir_with(tmp_path, "scripe", use_reference))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {FULL}"}
    video = client.post("/scripe/v1/uploads", json={"contentType": "video/webm"}, headers=auth)
    assert video.status_code == 200
    assert video.json["data"]["maxSizeBytes"] == 500 * 1024 * 1024
    for content_type, status in (("application/msword", 200), ("text/markdown", 422)):
        assert client.post("/scripe/v1/uploads", json={"contentType": content_type}, headers=auth).status_code == status
    emulator_of(app).close()


def test_the_guide_cap_table_is_the_default(scripe):
    assert scripe.mint(contentType="video/mp4").json["data"]["maxSizeBytes"] == 1024 * 1024 * 1024
    assert scripe.mint(contentType="text/markdown").status_code == 200
    assert scripe.mint(contentType="video/webm").status_code == 422


def test_uploads_are_bound_to_the_minting_workspace(scripe, emu):
    acme = scripe.mint(key=FULL).json["data"]["id"]
    globex = scripe.mint(key=GLOBEX).json["data"]["id"]
    assert emu.uploads.get(acme).workspace == "org_acme"
    assert emu.uploads.get(globex).workspace == "org_globex"
    assert emu.uploads.get(acme, workspace="org_globex") is None

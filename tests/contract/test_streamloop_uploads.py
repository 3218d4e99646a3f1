"""Streamloop's upload flow and its documented errors, checked against specs/streamloop.yaml."""

from __future__ import annotations

import pytest
from support import (
    OTHER_KEY,
    STUDIO_KEY,
    TOKEN_ALL,
    TOKEN_READ,
    TOKEN_REVOKED,
    TOKEN_RW,
    Streamloop,
    assert_conforms,
    assert_problem,
)

from upload_emulator.s3 import objects as s3_objects

V = "streamloop"


def test_create_upload_url_put_complete_then_get_shows_uploaded_with_the_real_size(app, streamloop, emu):
    created = streamloop.create(name="episode.mp4", fileSize=10)
    assert created.status_code == 201
    assert_conforms(app, "createUpload", created, vendor=V)
    upload = created.json
    assert upload["id"].startswith("obj_") and upload["uploaded"] is False
    url = streamloop.upload_url(upload["id"])
    assert_conforms(app, "generateUploadUrl", url, vendor=V)
    assert "X-Amz-SignedHeaders=content-type%3Bhost" in url.json and "X-Amz-Expires=3600" in url.json
    assert streamloop.put(url.json, b"0123456789abc").status_code == 200
    done = streamloop.complete(upload["id"])
    assert_conforms(app, "completeUpload", done, vendor=V)
    assert (done.json["uploaded"], done.json["fileSize"]) == (True, 13)
    fetched = streamloop.call("GET", f"/uploads/{upload['id']}")
    assert_conforms(app, "getUpload", fetched, vendor=V)
    assert fetched.json == done.json
    record = emu.uploads.get(upload["id"])
    assert b"".join(emu.storage.iter_content(record.bucket, record.key)) == b"0123456789abc"


def test_every_response_carries_the_ietf_rate_limit_headers(streamloop):
    for response in (
        streamloop.create(),
        streamloop.call("GET", "/uploads"),
        streamloop.create(type="nope"),
        streamloop.call("GET", "/uploads", headers={}),
    ):
        assert response.headers["RateLimit-Limit"] == "600"
        assert response.headers["RateLimit-Policy"] == "600;w=60"
        assert response.headers["RateLimit"].startswith("limit=600, remaining=")
        assert int(response.headers["RateLimit-Reset"]) >= 1


def test_completing_before_the_bytes_landed_is_409_upload_incomplete(app, streamloop):
    upload = streamloop.create().json
    response = streamloop.complete(upload["id"])
    assert_problem(response, 409, "UPLOAD_INCOMPLETE")
    assert_conforms(app, "completeUpload", response, vendor=V)


def test_completing_twice_is_409_upload_already_completed_and_a_new_url_is_null(app, streamloop):
    upload = streamloop.uploaded()
    assert streamloop.complete(upload["id"]).status_code == 200
    again = streamloop.complete(upload["id"])
    assert_problem(again, 409, "UPLOAD_ALREADY_COMPLETED")
    url = streamloop.upload_url(upload["id"])
    assert url.status_code == 200 and url.json is None
    assert_conforms(app, "generateUploadUrl", url, vendor=V)


def test_each_upload_url_call_mints_a_fresh_url_for_the_same_object(streamloop, emu):
    upload = streamloop.create().json
    emu.clock.freeze()
    first = streamloop.upload_url(upload["id"]).json
    emu.clock.advance(1)
    second = streamloop.upload_url(upload["id"]).json
    assert first != second and first.split("?")[0] == second.split("?")[0]


def test_a_deleted_upload_is_gone_from_get_and_list_and_its_writes_are_upload_removed(app, streamloop, emu):
    upload = streamloop.uploaded()
    record = emu.uploads.get(upload["id"])
    deleted = streamloop.call("DELETE", f"/uploads/{upload['id']}", headers=Streamloop.auth(token=TOKEN_ALL))
    assert deleted.status_code == 204
    assert_conforms(app, "deleteUpload", deleted, vendor=V)
    assert_problem(streamloop.call("GET", f"/uploads/{upload['id']}"), 404, "NOT_FOUND")
    assert streamloop.call("GET", "/uploads").json["data"] == []
    for response, op in (
        (streamloop.upload_url(upload["id"]), "generateUploadUrl"),
        (streamloop.complete(upload["id"]), "completeUpload"),
    ):
        assert_problem(response, 422, "UPLOAD_REMOVED")
        assert_conforms(app, op, response, vendor=V)
    assert emu.storage.head(record.bucket, record.key) is None


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "UNAUTHENTICATED"),
        (Streamloop.auth(key="sl_test_nobody_has_this"), 401, "UNAUTHENTICATED"),
        (Streamloop.auth(token=TOKEN_REVOKED), 401, "UNAUTHENTICATED"),
        ({"X-API-Key": TOKEN_RW, "X-Workspace-Id": "wksp_studio"}, 401, "UNAUTHENTICATED"),
        ({"Authorization": f"Bearer {STUDIO_KEY}"}, 401, "UNAUTHENTICATED"),
        (Streamloop.auth(workspace=None), 400, "WORKSPACE_REQUIRED"),
        (Streamloop.auth(workspace="wksp_other"), 403, "WORKSPACE_FORBIDDEN"),
        (Streamloop.auth(workspace="wksp_nowhere"), 403, "WORKSPACE_FORBIDDEN"),
        (Streamloop.auth(token=TOKEN_READ), 403, "INSUFFICIENT_SCOPE"),
    ],
)
def test_credential_and_workspace_errors_are_problems_with_streamloops_codes(
    app, streamloop, emu, headers, status, code
):
    response = streamloop.create(headers=headers)
    assert_problem(response, status, code)
    assert_conforms(app, "createUpload", response, vendor=V)
    assert emu.uploads.all() == []


def test_an_oauth_token_acts_in_its_own_workspace_without_the_header(streamloop, emu):
    created = streamloop.create(headers={"Authorization": f"Bearer {TOKEN_RW}"})
    assert created.status_code == 201
    assert emu.uploads.get(created.json["id"]).workspace == "wksp_studio"


def test_an_api_key_may_act_in_any_workspace_its_user_belongs_to(streamloop, emu):
    created = streamloop.create(headers=Streamloop.auth(workspace="wksp_side"))
    assert emu.uploads.get(created.json["id"]).workspace == "wksp_side"
    assert streamloop.call("GET", "/uploads").json["data"] == []


def test_deleting_needs_the_destructive_scope(app, streamloop):
    upload = streamloop.create().json
    response = streamloop.call("DELETE", f"/uploads/{upload['id']}", headers=Streamloop.auth(token=TOKEN_RW))
    problem = assert_problem(response, 403, "INSUFFICIENT_SCOPE")
    assert "streamloop:destructive" in problem["detail"]
    assert streamloop.call("GET", f"/uploads/{upload['id']}").status_code == 200


def test_reading_needs_the_read_scope_and_writing_the_write_scope(app):
    from upload_emulator.app import emulator_of

    key = emulator_of(app).keys.create_key("streamloop", "wksp_studio", scopes=["streamloop:write"], kind="oauth")
    client = Streamloop(app.test_client())
    write_only = Streamloop.auth(token=key.secret)
    assert client.create(headers=write_only).status_code == 201
    assert_problem(client.call("GET", "/uploads", headers=write_only), 403, "INSUFFICIENT_SCOPE")


def test_another_workspaces_upload_is_404_for_every_operation(app, streamloop):
    upload = streamloop.uploaded()
    other = Streamloop.auth(key=OTHER_KEY, workspace="wksp_other")
    for method, path, op in (
        ("GET", "", "getUpload"),
        ("DELETE", "", "deleteUpload"),
        ("POST", "/upload-url", "generateUploadUrl"),
        ("POST", "/complete", "completeUpload"),
    ):
        response = streamloop.call(method, f"/uploads/{upload['id']}{path}", headers=other)
        assert_problem(response, 404, "NOT_FOUND")
        assert_conforms(app, op, response, vendor=V)
    assert streamloop.call("GET", f"/uploads/{upload['id']}").json["uploaded"] is False


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"mimeType": "application/pdf"}, "UNSUPPORTED_TYPE", "mimeType"),
        ({"mimeType": "audio/mpeg", "type": "video"}, "UNSUPPORTED_TYPE", "mimeType"),
        ({"type": "document"}, "INVALID_INPUT", "type"),
        ({"name": ""}, "INVALID_INPUT", "name"),
        ({"fileSize": -1}, "INVALID_INPUT", "fileSize"),
        ({"fileSize": 5_000_000_001}, "FILE_TOO_LARGE", "fileSize"),
    ],
)
def test_invalid_uploads_are_422_with_the_documented_code_naming_the_field(app, streamloop, emu, body, code, field):
    response = streamloop.create(**body)
    problem = assert_problem(response, 422, code)
    assert problem["errors"][0]["field"] == field
    assert_conforms(app, "createUpload", response, vendor=V)
    assert emu.uploads.all() == []


def test_the_size_cap_follows_the_workspace_plan(streamloop, emu):
    big = 2_000_000_000
    assert_problem(
        streamloop.create(headers=Streamloop.auth(workspace="wksp_side"), fileSize=big), 422, "FILE_TOO_LARGE"
    )
    paid = streamloop.create(fileSize=big).json
    assert emu.uploads.get(paid["id"]).max_size_bytes == 5_000_000_000


@pytest.mark.parametrize(("data", "content_type"), [(b"{nope", "application/json"), (b"[]", "text/plain")])
def test_an_unreadable_body_is_400_bad_request(app, streamloop, data, content_type):
    response = streamloop.call(
        "POST", "/uploads", data=data, headers={**Streamloop.auth(), "Content-Type": content_type}
    )
    assert_problem(response, 400, "BAD_REQUEST")
    assert_conforms(app, "createUpload", response, vendor=V)


def test_a_missing_field_is_422_invalid_input(app, streamloop):
    response = streamloop.call("POST", "/uploads", json={"name": "x"})
    assert_problem(response, 422, "INVALID_INPUT")


def test_an_unknown_query_parameter_is_422_invalid_input(app, streamloop):
    response = streamloop.call("GET", "/uploads?limit=5&sort=asc")
    problem = assert_problem(response, 422, "INVALID_INPUT")
    assert problem["errors"][0]["field"] == "sort"
    assert_conforms(app, "listUploads", response, vendor=V)


def test_an_unknown_route_and_a_wrong_method_are_problems(client):
    assert_problem(client.get("/streamloop/v1/streams"), 404, "NOT_FOUND")
    response = client.put("/streamloop/v1/uploads")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_the_control_api_mints_api_keys_and_oauth_tokens_with_scopes(client, streamloop):
    token = client.post(
        "/_emulator/keys",
        json={"vendor": "streamloop", "workspace": "wksp_studio", "kind": "oauth", "scopes": ["streamloop:read"]},
    ).json
    key = client.post("/_emulator/keys", json={"vendor": "streamloop", "workspace": "wksp_new"}).json
    assert token["key"].startswith("slo_") and key["key"].startswith("sl_")
    read_only = Streamloop.auth(token=token["key"])
    assert streamloop.call("GET", "/uploads", headers=read_only).status_code == 200
    assert_problem(streamloop.create(headers=read_only), 403, "INSUFFICIENT_SCOPE")
    assert streamloop.create(headers=Streamloop.auth(key=key["key"], workspace="wksp_new")).status_code == 201
    assert_problem(
        streamloop.create(headers={"X-API-Key": token["key"], "X-Workspace-Id": "wksp_studio"}), 401, "UNAUTHENTICATED"
    )


def test_an_upload_url_expires_after_an_hour_on_the_clock_and_a_fresh_one_works(streamloop, emu):
    upload = streamloop.create().json
    stale = streamloop.upload_url(upload["id"]).json
    emu.clock.advance(3600)
    refused = streamloop.put(stale, b"late")
    assert refused.status_code == 403 and b"Request has expired" in refused.data
    assert emu.uploads.get(upload["id"]).state == "pending"
    assert streamloop.put(streamloop.upload_url(upload["id"]).json, b"fresh").status_code == 200
    assert streamloop.complete(upload["id"]).json["fileSize"] == 5


def test_a_put_racing_with_complete_never_costs_the_completed_upload_its_bytes(streamloop, emu, monkeypatch):
    upload = streamloop.uploaded(b"first bytes")
    record = emu.uploads.get(upload["id"])
    url = streamloop.upload_url(upload["id"]).json
    real_stage = s3_objects.stage

    def stage_then_lose_the_race(chunks, size):
        staged = real_stage(chunks, size)
        assert streamloop.complete(upload["id"]).status_code == 200  # completes while the PUT is in flight
        return staged

    monkeypatch.setattr(s3_objects, "stage", stage_then_lose_the_race)
    late = streamloop.put(url, b"second bytes!")
    assert late.status_code == 403
    assert b"".join(emu.storage.iter_content(record.bucket, record.key)) == b"first bytes"
    assert streamloop.call("GET", f"/uploads/{upload['id']}").json["fileSize"] == len(b"first bytes")

"""Ctxfy against its spec: uploads, keys, rate limits, sources and their outcomes, in-process."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from support import (
    ADA,
    ADA_EXPIRED,
    ADA_REVOKED,
    BOB,
    BOB_SPACE,
    assert_conforms,
    assert_ctxfy_error,
)

from upload_emulator.vendors.ctxfy import safe_filename


def conforms(app, operation_id, response):
    assert_conforms(app, operation_id, response, vendor="ctxfy")
    return response


# --- presigned uploads ----------------------------------------------------------------
def test_presign_returns_a_put_url_a_public_url_and_a_file_key_under_the_owners_prefix(app, ctxfy, emu):
    response = conforms(
        app, "createPresignedUpload", ctxfy.presign(filename="report.pdf", contentType="application/pdf")
    )
    body = response.json
    assert body["fileKey"].startswith("uploads/usr_ada/upl_") and body["fileKey"].endswith("/report.pdf")
    assert "X-Amz-Signature=" in body["uploadUrl"] and "X-Amz-SignedHeaders=content-type%3Bhost" in body["uploadUrl"]
    assert body["publicUrl"].endswith("/" + body["fileKey"]) and "?" not in body["publicUrl"]
    [record] = emu.uploads.all("ctxfy")
    assert (record.key, record.state, record.max_size_bytes) == (body["fileKey"], "pending", 5)


def test_the_bytes_land_byte_identical_and_cannot_exceed_the_declared_size(app, ctxfy, emu):
    minted = ctxfy.presign(size=11).json
    assert ctxfy.put(minted["uploadUrl"], b"twelve bytes").status_code == 400  # EntityTooLarge
    assert emu.storage.head(emu.bucket_for("ctxfy"), minted["fileKey"]) is None
    assert ctxfy.put(minted["uploadUrl"], b"eleven byte").status_code == 200
    [record] = emu.uploads.all("ctxfy")
    assert record.sha256 == hashlib.sha256(b"eleven byte").hexdigest()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"size": "big"}, ["size"]),
        ({"size": 0}, ["size"]),
        ({"size": 104857601}, ["size"]),
        ({"contentType": "application/x-msdownload"}, ["contentType"]),
        ({"filename": ""}, ["filename"]),
        ({"filename": 7, "contentType": "nope", "size": -1}, ["filename", "contentType", "size"]),
    ],
    ids=["size-not-integer", "size-zero", "size-over-cap", "type-not-allowed", "empty-name", "every-field"],
)
def test_a_bad_presign_is_400_naming_every_offending_field_and_stores_nothing(app, ctxfy, emu, body, fields):
    response = conforms(app, "createPresignedUpload", ctxfy.presign(**body))
    assert_ctxfy_error(response, 400, *fields)
    assert emu.uploads.all("ctxfy") == []


def test_missing_fields_are_each_named(app, ctxfy, emu):
    response = conforms(app, "createPresignedUpload", ctxfy.call("POST", "/v1/upload/s3", json={}))
    assert_ctxfy_error(response, 400, "filename", "contentType", "size")


def test_a_body_that_is_not_declared_json_is_400_naming_content_type(app, ctxfy, emu):
    response = ctxfy.call("POST", "/v1/upload/s3", data='{"filename":"a","contentType":"text/plain","size":1}')
    assert_ctxfy_error(conforms(app, "createPresignedUpload", response), 400, "Content-Type")
    assert emu.uploads.all("ctxfy") == []


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows\\system32\\config",
        "a/../../b",
        "evil\x00name\r\n.txt",
        "....//....//x",
        "." * 50,
        "x" * 1000 + ".pdf",
        "\u202egnp.exe",
    ],
)
def test_no_filename_can_move_the_file_key_out_of_its_owners_prefix(app, ctxfy, name):
    response = conforms(app, "createPresignedUpload", ctxfy.presign(filename=name))
    key = response.json["fileKey"]
    prefix, upload_id, base = key.rsplit("/", 2)
    assert prefix == "uploads/usr_ada" and upload_id.startswith("upl_")
    assert base and ".." not in key.split("/") and "\\" not in key and len(base) <= 200
    assert all(ch.isprintable() for ch in key)


def test_safe_filename_keeps_an_ordinary_name_and_a_long_names_extension():
    assert safe_filename("Quarterly report (v2).pdf", 200) == "Quarterly_report_v2_.pdf"
    assert safe_filename("x" * 1000 + ".pdf", 200).endswith(".pdf")
    assert safe_filename("..", 200) == "file"


# --- authentication -------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ADA},
        {"Authorization": f"Token {ADA}"},
        {"Authorization": "Bearer ctx_not_a_key_at_all"},
        {"Authorization": f"Bearer {ADA_REVOKED}"},
        {"Authorization": f"Bearer {ADA_EXPIRED}"},
    ],
    ids=["missing", "no-bearer-word", "wrong-word", "unknown", "revoked", "expired"],
)
def test_every_kind_of_bad_credential_is_401_in_ctxfys_envelope_and_changes_nothing(app, ctxfy, emu, headers):
    response = ctxfy.call(
        "POST",
        "/v1/upload/s3",
        key=None,
        headers=headers,
        json={"filename": "a", "contentType": "text/plain", "size": 1},
    )
    body = assert_ctxfy_error(conforms(app, "createPresignedUpload", response), 401)
    assert body["error"] == "Unauthorized"
    assert emu.uploads.all("ctxfy") == []
    [entry] = emu.journal.entries(vendor="ctxfy")
    assert entry["status"] == 401


def test_health_and_metrics_are_public(app, ctxfy):
    health = conforms(app, "getHealth", ctxfy.call("GET", "/health", key=None))
    assert health.json == {"status": "ok"}
    metrics = conforms(app, "getMetrics", ctxfy.call("GET", "/metrics", key=None))
    assert metrics.content_type.startswith("text/plain") and "ctxfy_up 1" in metrics.get_data(as_text=True)


# --- API keys ------------------------------------------------------------------------
def test_a_new_key_is_shown_once_works_at_once_and_never_appears_in_full_again(app, ctxfy, emu):
    created = conforms(app, "createApiKey", ctxfy.call("POST", "/v1/api-keys", json={"name": "ci"}))
    assert created.status_code == 201
    secret = created.json["api_key"]
    assert secret.startswith("ctx_") and created.json["key_prefix"] == secret[:12]
    assert conforms(app, "createPresignedUpload", ctxfy.presign(key=secret)).status_code == 200
    listed = conforms(app, "listApiKeys", ctxfy.call("GET", "/v1/api-keys"))
    assert secret not in listed.get_data(as_text=True)
    assert created.json["id"] in [k["id"] for k in listed.json["api_keys"]]
    assert all(secret not in str(entry) for entry in emu.journal.entries())


def test_revoking_a_key_takes_effect_at_once(app, ctxfy):
    secret, key_id = (lambda b: (b["api_key"], b["id"]))(ctxfy.call("POST", "/v1/api-keys", json={"name": "x"}).json)
    revoked = conforms(app, "revokeApiKey", ctxfy.call("DELETE", f"/v1/api-keys/{key_id}"))
    assert revoked.json["revoked_at"] is not None
    assert_ctxfy_error(ctxfy.presign(key=secret), 401)


def test_another_owners_key_cannot_be_seen_or_revoked(app, ctxfy):
    key_id = ctxfy.call("POST", "/v1/api-keys", json={"name": "ada"}).json["id"]
    assert key_id not in [k["id"] for k in ctxfy.call("GET", "/v1/api-keys", key=BOB).json["api_keys"]]
    response = conforms(app, "revokeApiKey", ctxfy.call("DELETE", f"/v1/api-keys/{key_id}", key=BOB))
    assert_ctxfy_error(response, 404)
    assert ctxfy.call("GET", "/v1/api-keys").json["api_keys"][-1]["revoked_at"] is None


def test_a_key_expires_on_the_emulators_clock(app, ctxfy, emu):
    later = emu.clock.now().replace(microsecond=0) + timedelta(seconds=120)
    when = later.isoformat().replace("+00:00", "Z")
    secret = ctxfy.call("POST", "/v1/api-keys", json={"name": "x", "expiration_date": when}).json["api_key"]
    assert ctxfy.presign(key=secret).status_code == 200
    emu.clock.advance(121)
    assert_ctxfy_error(ctxfy.presign(key=secret), 401)


def test_a_key_with_a_past_expiration_date_is_made_already_expired(app, ctxfy, emu):
    now = emu.clock.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    made = conforms(app, "createApiKey", ctxfy.call("POST", "/v1/api-keys", json={"name": "x", "expiration_date": now}))
    assert made.status_code == 201 and made.json["expiration_date"] == now.replace("Z", ".000Z")
    assert_ctxfy_error(ctxfy.presign(key=made.json["api_key"]), 401)


@pytest.mark.parametrize("when", ["2027-02-30T00:00:00Z", "2027-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2027-1-1"])
def test_an_expiration_date_that_is_no_real_date_time_is_refused_by_the_schema(app, ctxfy, when):
    response = ctxfy.call("POST", "/v1/api-keys", json={"name": "x", "expiration_date": when})
    assert_ctxfy_error(conforms(app, "createApiKey", response), 400, "expiration_date")
    assert "x" not in [k["name"] for k in ctxfy.call("GET", "/v1/api-keys").json["api_keys"]]


def test_keys_list_in_pages(app, ctxfy):
    for n in range(4):
        ctxfy.call("POST", "/v1/api-keys", json={"name": f"k{n}"})
    page = conforms(app, "listApiKeys", ctxfy.call("GET", "/v1/api-keys?page=2&per_page=3")).json
    assert page["pagination"] == {"page": 2, "per_page": 3, "total": 7, "pages": 3}
    assert [k["name"] for k in page["api_keys"]] == ["k0", "k1", "k2"]
    assert_ctxfy_error(conforms(app, "listApiKeys", ctxfy.call("GET", "/v1/api-keys?per_page=500")), 400, "per_page")


def test_keys_minted_by_the_control_api_work_with_their_plans_budget(app, client, ctxfy):
    made = client.post("/_emulator/keys", json={"vendor": "ctxfy", "workspace": "usr_new", "plan": "FREE"}).json
    answer = ctxfy.presign(key=made["key"])
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Limit"] == "10"


# --- rate limits ---------------------------------------------------------------------
def test_a_free_key_gets_ten_requests_a_minute_then_429_with_retry_after_until_the_clock_moves(app, ctxfy, emu):
    emu.clock.freeze()
    answers = [ctxfy.presign(key=BOB) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["9", "8", "7"]
    limited = conforms(app, "createPresignedUpload", answers[-1])
    assert_ctxfy_error(limited, 429)
    assert limited.headers["Retry-After"] == "60"
    assert len(emu.uploads.all("ctxfy")) == 10
    emu.clock.advance(60)
    assert ctxfy.presign(key=BOB).status_code == 200


def test_a_pro_key_gets_a_hundred(app, ctxfy):
    assert ctxfy.presign().headers["X-RateLimit-Limit"] == "100"


# --- spaces and sources --------------------------------------------------------------
def test_a_file_source_moves_through_its_states_on_the_clock(app, ctxfy, emu):
    emu.clock.freeze()
    minted = ctxfy.uploaded()
    created = conforms(app, "createSource", ctxfy.file_source(minted["fileKey"]))
    assert created.status_code == 201 and created.json["status"] == "CREATED"
    source_id = created.json["id"]
    seen = []
    for step in (1, 1, 3):
        emu.clock.advance(step)
        seen.append(conforms(app, "getSource", ctxfy.call("GET", f"/v1/sources/{source_id}")).json["status"])
    assert seen == ["PENDING", "PROCESSING", "COMPLETED"]
    assert emu.uploads.get(emu.uploads.all("ctxfy")[0].id).state == "uploaded"  # a fileKey is not consumed


@pytest.mark.parametrize("result", ["FAILED", "CANCELED"])
def test_an_outcome_rule_makes_the_next_source_end_failed_or_canceled(app, client, ctxfy, emu, result):
    emu.clock.freeze()
    rule = {"vendor": "ctxfy", "kind": "source", "match": {"type": "FILE"}, "result": result, "times": 1}
    rule.update(errorCode="UNREADABLE", errorMessage="The PDF is encrypted.")
    assert client.post("/_emulator/outcomes", json=rule).status_code == 201
    file_key = ctxfy.uploaded()["fileKey"]
    first = ctxfy.file_source(file_key).json["id"]
    second = ctxfy.file_source(file_key).json["id"]
    emu.clock.advance(5)
    ended = conforms(app, "getSource", ctxfy.call("GET", f"/v1/sources/{first}")).json
    assert ended["status"] == result
    assert ended["error"] == (
        {"code": "UNREADABLE", "message": "The PDF is encrypted."} if result == "FAILED" else None
    )
    assert ctxfy.call("GET", f"/v1/sources/{second}").json["status"] == "COMPLETED"
    assert client.get("/_emulator/outcomes").json["data"][0]["fired"] == 1


def test_an_outcome_for_work_ctxfy_does_not_have_is_refused_as_the_served_schema_says(client):
    bad_kind = client.post("/_emulator/outcomes", json={"vendor": "ctxfy", "kind": "job", "result": "FAILED"})
    bad_result = client.post("/_emulator/outcomes", json={"vendor": "ctxfy", "kind": "source", "result": "DONE"})
    assert (bad_kind.status_code, bad_result.status_code) == (400, 400)
    assert [e["field"] for e in bad_kind.json["errors"] + bad_result.json["errors"]] == ["kind", "result"]
    rules = client.get("/_emulator/openapi.json").json["components"]["schemas"]["OutcomeRule"]["allOf"]
    assert {
        "if": {"properties": {"vendor": {"const": "ctxfy"}}, "required": ["vendor"]},
        "then": {"properties": {"kind": {"enum": ["source"]}}},
    } in rules


@pytest.mark.parametrize(
    "file_key",
    ["uploads/usr_ada/upl_NEVERMINTED/x.txt", "", "../../etc/passwd"],
    ids=["never-minted", "empty", "path-trick"],
)
def test_a_file_source_needs_a_file_key_that_exists(app, ctxfy, emu, file_key):
    response = conforms(app, "createSource", ctxfy.file_source(file_key))
    assert_ctxfy_error(response, 400, "initial_data.data")
    assert emu.resources.list("ctxfy", "source", "usr_ada") == []


def test_a_file_key_not_yet_uploaded_or_owned_by_someone_else_is_refused(app, ctxfy, emu):
    pending = ctxfy.presign().json["fileKey"]
    assert_ctxfy_error(conforms(app, "createSource", ctxfy.file_source(pending)), 400, "initial_data.data")
    bobs = ctxfy.uploaded(key=BOB)["fileKey"]
    assert_ctxfy_error(conforms(app, "createSource", ctxfy.file_source(bobs)), 400, "initial_data.data")
    assert emu.resources.list("ctxfy", "source", "usr_ada") == []


def test_another_owners_space_and_source_are_404(app, ctxfy):
    assert_ctxfy_error(
        conforms(
            app, "createSource", ctxfy.source(BOB_SPACE, type="CONTENT", initial_data={"data": "x"}, instructions={})
        ),
        404,
    )
    source_id = ctxfy.source(type="CONTENT", initial_data={"data": "x"}, instructions={}).json["id"]
    assert_ctxfy_error(conforms(app, "getSource", ctxfy.call("GET", f"/v1/sources/{source_id}", key=BOB)), 404)


def test_a_space_made_by_the_control_api_takes_sources(app, client, ctxfy):
    space = client.post("/_emulator/spaces", json={"vendor": "ctxfy", "workspace": "usr_ada", "name": "More"})
    assert_conforms(app, "createSpace", space)
    made = ctxfy.source(space.json["id"], type="URI", initial_data={"url": "https://example.com"}, instructions={})
    assert conforms(app, "createSource", made).status_code == 201
    assert made.json["space_id"] == space.json["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "URI", "initial_data": {"uri": "https://example.com/a"}, "instructions": {}},
        {"type": "CONTENT", "initial_data": {"data": "Some text"}, "instructions": {}, "name": "Notes"},
    ],
)
def test_other_source_types_are_accepted_with_their_documented_fields(app, ctxfy, body):
    assert conforms(app, "createSource", ctxfy.source(**body)).status_code == 201


def test_a_composition_names_sources_of_the_same_owner(app, ctxfy):
    part = ctxfy.source(type="CONTENT", initial_data={"data": "x"}, instructions={}).json["id"]
    good = ctxfy.source(type="COMPOSITION", initial_data={"source_ids": [part]}, instructions={})
    assert conforms(app, "createSource", good).status_code == 201
    bad = ctxfy.source(type="COMPOSITION", initial_data={"source_ids": ["src_nope"]}, instructions={})
    assert_ctxfy_error(conforms(app, "createSource", bad), 400, "initial_data.source_ids")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "FILE", "initial_data": {"data": "k"}}, "instructions"),
        ({"type": "FILE", "instructions": {}}, "initial_data"),
        ({"type": "VIDEO", "initial_data": {}, "instructions": {}}, "type"),
        (
            {"type": "FILE", "initial_data": {"data": "k"}, "instructions": {"postback_url": "http://example.com/h"}},
            "instructions.postback_url",
        ),
    ],
    ids=["no-instructions", "no-initial-data", "unknown-type", "plain-http-postback"],
)
def test_a_malformed_source_is_400_naming_the_field(app, ctxfy, emu, body, field):
    assert_ctxfy_error(conforms(app, "createSource", ctxfy.source(**body)), 400, field)
    assert emu.resources.list("ctxfy", "source", "usr_ada") == []
    assert emu.callbacks.all() == []


def test_a_postback_is_scheduled_for_when_the_source_ends(app, ctxfy, emu):
    emu.clock.freeze()
    file_key = ctxfy.uploaded()["fileKey"]
    source = ctxfy.file_source(file_key, postback_url="https://hooks.example.com/ctxfy").json
    [delivery] = emu.callbacks.all()
    assert delivery.event == "source.completed" and delivery.body["id"] == source["id"]
    assert delivery.body["status"] == "COMPLETED" and delivery.status == "not_sent"  # never leaves this machine
    assert conforms(app, "getSource", ctxfy.call("GET", f"/v1/sources/{source['id']}")).json["status"] == "CREATED"


def test_an_injected_500_answers_in_ctxfys_shape_with_a_request_id(app, client, ctxfy, emu):
    client.post(
        "/_emulator/faults", json={"vendor": "ctxfy", "operationId": "createPresignedUpload", "status": 500, "times": 1}
    )
    failed = conforms(app, "createPresignedUpload", ctxfy.presign())
    body = assert_ctxfy_error(failed, 500)
    assert body["error"] == "Internal Server Error" and body["requestId"] == failed.headers["X-Request-Id"]
    assert emu.uploads.all("ctxfy") == []
    assert ctxfy.presign().status_code == 200

"""The control plane under /_emulator/: reset, clock, keys, uploads and their bytes, journal."""

from __future__ import annotations

from datetime import timedelta

from support import FULL, assert_conforms

from upload_emulator.core.clock import parse_iso
from upload_emulator.vendors import installed


def test_health_lists_the_vendors_the_s3_endpoint_and_the_buckets(app, client, emu):
    response = client.get("/_emulator/health")
    assert_conforms(app, "getEmulatorHealth", response)
    body = response.json
    assert [v["name"] for v in body["vendors"]] == list(installed())
    bases = {v["name"]: v["baseUrl"] for v in body["vendors"]}
    assert bases["scripe"] == "http://localhost/scripe/v1"
    assert bases["ctxfy"] == "http://localhost/ctxfy"  # Ctxfy's own paths start with /v1 (and /health)
    assert body["s3Endpoint"] == "http://localhost/s3"
    assert body["buckets"] == {name: emu.bucket_for(name) for name in installed()}


def test_advancing_the_clock_moves_now_and_freezing_holds_it(app, client):
    frozen = client.post("/_emulator/clock", json={"frozen": True}).json
    assert frozen["frozen"] is True
    moved = client.post("/_emulator/clock", json={"advanceSeconds": 901})
    assert_conforms(app, "setClock", moved)
    assert parse_iso(moved.json["now"]) - parse_iso(frozen["now"]) == timedelta(seconds=901)
    assert client.get("/_emulator/clock").json == moved.json


def test_the_clock_cannot_go_backward(client):
    response = client.post("/_emulator/clock", json={"advanceSeconds": -5})
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.json["code"] == "MALFORMED_REQUEST"


def test_created_keys_work_at_once_with_their_scopes_and_status(client, scripe):
    created = client.post(
        "/_emulator/keys", json={"vendor": "scripe", "workspace": "org_new", "scopes": ["knowledge:write"]}
    )
    assert created.status_code == 201
    key = created.json
    assert key["key"].startswith("scripe_sk_test_") and key["plan"] == "BUSINESS"
    assert scripe.mint(key=key["key"]).status_code == 200
    revoked = client.post(
        "/_emulator/keys", json={"vendor": "scripe", "workspace": "org_new", "status": "revoked"}
    ).json
    assert scripe.mint(key=revoked["key"]).json["error"]["code"] == "key_revoked"
    listed = {k["id"] for k in client.get("/_emulator/keys?vendor=scripe").json["data"]}
    assert {key["id"], revoked["id"], "key_acme_full"} <= listed


def test_a_key_for_an_unknown_vendor_is_refused_by_the_schema_which_lists_the_served_vendors(client):
    response = client.post("/_emulator/keys", json={"vendor": "nope", "workspace": "w"})
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "vendor"


def test_upload_records_and_their_bytes_are_visible(app, client, scripe):
    upload = scripe.uploaded(b"the exact bytes")
    pending = scripe.mint()
    listed = client.get("/_emulator/uploads?vendor=scripe&state=uploaded")
    assert_conforms(app, "listUploads", listed, vendor="_emulator")
    assert [r["id"] for r in listed.json["data"]] == [upload["id"]]
    content = client.get(f"/_emulator/uploads/{upload['id']}/content")
    assert content.data == b"the exact bytes"
    assert content.content_type == "audio/mpeg"
    missing = client.get(f"/_emulator/uploads/{pending.json['data']['id']}/content")
    assert missing.status_code == 404
    assert_conforms(app, "getUploadContent", missing)
    assert client.get("/_emulator/uploads/upl_unknown").status_code == 404


def test_reset_returns_to_the_fixtures(client, scripe, emu):
    upload = scripe.uploaded()
    created = client.post("/_emulator/keys", json={"vendor": "scripe", "workspace": "w"}).json
    client.post("/_emulator/clock", json={"advanceSeconds": 3600})
    record = emu.uploads.get(upload["id"])
    assert client.post("/_emulator/reset").status_code == 204
    assert client.get("/_emulator/uploads").json["data"] == []
    assert emu.storage.head(record.bucket, record.key) is None
    assert scripe.mint(key=created["key"]).json["error"]["code"] == "invalid_token"
    assert scripe.mint(key=FULL).status_code == 200
    assert abs(parse_iso(client.get("/_emulator/clock").json["now"]) - emu.clock.now()) < timedelta(seconds=5)
    assert client.get("/_emulator/requests").json["data"][-1]["operationId"] == "createUpload"


def test_the_journal_can_be_filtered_and_cleared(client, scripe):
    scripe.mint()
    scripe.mint(key=None)
    failed = client.get("/_emulator/requests?vendor=scripe&status=401").json["data"]
    assert [e["errorCode"] for e in failed] == ["unauthenticated"]
    assert len(client.get("/_emulator/requests?limit=1").json["data"]) == 1
    assert client.delete("/_emulator/requests").status_code == 204
    assert client.get("/_emulator/requests").json["data"] == []


def test_a_key_can_be_revoked_and_expired_mid_test_and_its_vendor_answers_401(app, client, emu):
    minted = client.post(
        "/_emulator/keys", json={"vendor": "scripe", "workspace": "org_acme", "scopes": ["sources:write"]}
    )
    key = minted.json
    auth = {"Authorization": f"Bearer {key['key']}"}
    assert client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=auth).status_code == 200
    revoked = client.patch(f"/_emulator/keys/{key['id']}", json={"status": "revoked"})
    assert_conforms(app, "changeKey", revoked)
    assert revoked.json["status"] == "revoked"
    answer = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=auth)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "key_revoked"
    client.patch(f"/_emulator/keys/{key['id']}", json={"status": "active"})
    soon = (emu.clock.now() + timedelta(seconds=60)).isoformat()
    client.patch(f"/_emulator/keys/{key['id']}", json={"expiresAt": soon})
    assert client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=auth).status_code == 200
    emu.clock.advance(61)
    answer = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=auth)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "key_expired"


def test_changing_a_key_that_does_not_exist_is_404(app, client):
    response = client.patch("/_emulator/keys/key_nope", json={"status": "revoked"})
    assert_conforms(app, "changeKey", response)
    assert response.status_code == 404


def test_outcome_rules_are_created_listed_and_removed(app, client):
    created = client.post(
        "/_emulator/outcomes", json={"vendor": "ctxfy", "kind": "source", "result": "FAILED", "times": 1}
    )
    assert_conforms(app, "createOutcome", created)
    assert created.status_code == 201 and created.json["remaining"] == 1
    listed = client.get("/_emulator/outcomes")
    assert_conforms(app, "listOutcomes", listed)
    assert [o["id"] for o in listed.json["data"]] == [created.json["id"]]
    assert client.delete(f"/_emulator/outcomes/{created.json['id']}").status_code == 204
    assert client.delete(f"/_emulator/outcomes/{created.json['id']}").status_code == 404
    bad = client.post("/_emulator/outcomes", json={"vendor": "nosuch", "kind": "job", "result": "FAILED"})
    assert_conforms(app, "createOutcome", bad)
    assert bad.status_code == 400  # the schema's vendor enum


def test_the_control_api_takes_json_sent_as_curl_d_sends_it(client, emu):
    answer = client.post(
        "/_emulator/clock", data='{"advanceSeconds": 60}', content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    bare = client.post("/_emulator/keys", data='{"vendor": "scripe", "workspace": "org_curl"}', headers={})
    assert bare.status_code == 201 and bare.json["workspace"] == "org_curl"


def test_a_web_page_on_another_origin_cannot_send_the_control_api_a_form_body(client, emu):
    answer = client.post(
        "/_emulator/keys",
        data='{"vendor": "scripe", "workspace": "org_evil"}',
        content_type="text/plain",
        headers={"Origin": "http://evil.example"},
    )
    assert answer.status_code == 403 and answer.json["code"] == "CONTROL_FORBIDDEN"
    assert all(k.workspace != "org_evil" for k in emu.keys.all())
    same_origin = client.post(
        "/_emulator/clock", data='{"frozen": true}', content_type="text/plain", headers={"Origin": "http://localhost"}
    )
    assert same_origin.status_code == 200


def test_a_foreign_host_cannot_read_the_keys_dns_rebinding(client):
    answer = client.get("/_emulator/keys", headers={"Host": "attacker.example:8080"})
    assert answer.status_code == 403 and "scripe_sk_test" not in answer.get_data(as_text=True)
    assert "--allowed-host attacker.example" in answer.json["detail"]
    for host in ("localhost:8080", "127.0.0.1", "[::1]:9"):
        assert client.get("/_emulator/health", headers={"Host": host}).status_code == 200


def test_a_cross_site_reset_is_refused_and_changes_nothing(client, emu):
    emu.clock.advance(100)
    answer = client.post("/_emulator/reset", headers={"Origin": "https://some-site.example"})
    assert answer.status_code == 403
    assert emu.clock.now() > emu.clock.now().__class__.now(emu.clock.now().tzinfo)  # still 100 s ahead


def test_vendor_apis_answer_an_allowed_host_without_the_control_token():
    from support import make_app

    from upload_emulator.app import emulator_of

    app = make_app(allowed_hosts=("emulator.test",), control_token="s3cret")
    client = app.test_client()
    assert client.get("/scripe/v1/health", headers={"Host": "emulator.test"}).status_code == 200
    assert client.get("/_emulator/health", headers={"Host": "emulator.test"}).status_code == 403  # no token
    assert (
        client.get("/_emulator/health", headers={"Host": "emulator.test", "X-Emulator-Token": "s3cret"}).status_code
        == 200
    )
    assert client.get("/_emulator/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/_emulator/health", headers={"Authorization": "Bearer wrong"}).status_code == 403
    emulator_of(app).close()

"""Health, the caller's workspace, routing errors and the served spec."""

from __future__ import annotations

from support import FREEBIE, FULL, assert_conforms, assert_scripe_error


def test_health_needs_no_authentication(app, client):
    response = client.get("/scripe/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert_conforms(app, "getHealth", response, vendor="scripe")


def test_workspaces_me_names_the_workspace_and_the_keys_scopes(app, scripe):
    response = scripe.call("GET", "/workspaces/me")
    assert_conforms(app, "getCurrentWorkspace", response, vendor="scripe")
    assert response.json["workspace"]["id"] == "org_acme"
    assert response.json["principal"] == {
        "type": "api_key",
        "id": "key_acme_full",
        "scopes": ["knowledge:write", "sources:write"],
    }


def test_even_workspaces_me_is_refused_to_an_ineligible_plan(scripe):
    assert_scripe_error(scripe.call("GET", "/workspaces/me", key=FREEBIE), 403, "plan_not_eligible")


def test_an_unknown_route_is_404_in_scripes_envelope_and_journaled(client, emu):
    response = client.get("/scripe/v1/nothing-here", headers={"Authorization": f"Bearer {FULL}"})
    assert_scripe_error(response, 404, "not_found")
    assert emu.journal.entries()[-1]["status"] == 404


def test_a_wrong_method_is_405_with_allow_in_scripes_envelope(client):
    response = client.delete("/scripe/v1/uploads")
    assert_scripe_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_the_spec_is_served_with_the_emulator_mount_as_first_server(client):
    served = client.get("/scripe/openapi.json").json
    assert served["servers"][0]["url"] == "http://localhost/scripe/v1"
    assert served["servers"][1]["url"] == "https://api.scripe.io/v1"
    assert "/uploads" in served["paths"]


def test_the_journal_masks_keys(client, emu):
    client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers={"Authorization": f"Bearer {FULL}"})
    entry = emu.journal.entries()[-1]
    assert entry["keyId"] == "key_acme_full"
    assert FULL not in str(entry)
    assert entry["key"].endswith(FULL[-4:])


def test_every_scripe_response_echoes_the_api_version_errors_included(client, scripe):
    responses = [
        scripe.mint(),
        scripe.mint(key=None),
        scripe.mint(headers={"Scripe-Api-Version": "1999-01-01"}),
        client.get("/scripe/v1/health"),
        client.get("/scripe/v1/no-such-route"),
    ]
    assert [r.headers.get("Scripe-Api-Version") for r in responses] == ["2026-08-01"] * 5
    assert all(r.headers["X-Request-Id"].startswith("req_") for r in responses)

"""Idempotency-Key on Scripe writes: replay, conflict, shape, scope and window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support import FULL, GLOBEX, SOURCES_ONLY, assert_conforms, assert_scripe_error


def test_a_first_write_with_a_key_says_it_was_not_replayed(scripe):
    response = scripe.mint(headers={"Idempotency-Key": "first-1"})
    assert response.headers["Idempotent-Replayed"] == "false"


def test_a_retry_with_the_same_key_and_body_replays_the_original_response(app, scripe, emu):
    first = scripe.mint(headers={"Idempotency-Key": "retry-1"}, maxSizeBytes=1000)
    again = scripe.mint(headers={"Idempotency-Key": "retry-1"}, maxSizeBytes=1000)
    assert again.status_code == first.status_code == 200
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_conforms(app, "createUpload", again, vendor="scripe")
    assert len(emu.uploads.all()) == 1


def test_the_body_is_compared_as_canonical_json_so_key_order_does_not_matter(client, emu):
    auth = {"Authorization": f"Bearer {FULL}", "Idempotency-Key": "order-1", "Content-Type": "application/json"}
    first = client.post("/scripe/v1/uploads", data='{"contentType":"audio/mpeg","maxSizeBytes":5}', headers=auth)
    again = client.post("/scripe/v1/uploads", data='{ "maxSizeBytes": 5, "contentType": "audio/mpeg" }', headers=auth)
    assert again.json == first.json
    assert len(emu.uploads.all()) == 1


def test_the_same_key_with_a_different_body_is_409_idempotency_key_conflict(app, scripe, emu):
    scripe.mint(headers={"Idempotency-Key": "conflict-1"}, maxSizeBytes=1000)
    response = scripe.mint(headers={"Idempotency-Key": "conflict-1"}, maxSizeBytes=2000)
    assert_scripe_error(response, 409, "idempotency_key_conflict")
    assert_conforms(app, "createUpload", response, vendor="scripe")
    assert len(emu.uploads.all()) == 1


def test_a_key_of_the_wrong_shape_is_ignored_as_if_absent(scripe, emu):
    for bad in ("has spaces", "x" * 65, "semi;colon"):
        first = scripe.mint(headers={"Idempotency-Key": bad})
        again = scripe.mint(headers={"Idempotency-Key": bad})
        assert first.status_code == again.status_code == 200
        assert first.json["data"]["id"] != again.json["data"]["id"]
        assert "Idempotent-Replayed" not in again.headers
    assert len(emu.uploads.all()) == 6


def test_keys_are_scoped_to_the_workspace(scripe, emu):
    acme = scripe.mint(key=FULL, headers={"Idempotency-Key": "shared-1"})
    globex = scripe.mint(key=GLOBEX, headers={"Idempotency-Key": "shared-1"})
    assert acme.json["data"]["id"] != globex.json["data"]["id"]
    assert globex.headers["Idempotent-Replayed"] == "false"


def test_keys_are_scoped_per_workspace_not_per_key(scripe):
    first = scripe.mint(key=FULL, headers={"Idempotency-Key": "ws-1"})
    again = scripe.mint(key=SOURCES_ONLY, headers={"Idempotency-Key": "ws-1"})
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_to_the_route(scripe):
    scripe.mint(headers={"Idempotency-Key": "route-1"})
    response = scripe.call(
        "POST",
        "/sources",
        json={"type": "text", "projectId": "p", "text": "hi"},
        headers={"Idempotency-Key": "route-1"},
    )
    assert response.status_code == 200
    assert response.headers["Idempotent-Replayed"] == "false"


def test_a_key_expires_after_24_hours(scripe, emu):
    first = scripe.mint(headers={"Idempotency-Key": "day-1"})
    scripe.advance(24 * 3600)
    again = scripe.mint(headers={"Idempotency-Key": "day-1"})
    assert again.headers["Idempotent-Replayed"] == "false"
    assert again.json["data"]["id"] != first.json["data"]["id"]


def test_client_errors_are_replayed_too(scripe, emu):
    never_minted = {"type": "file", "projectId": "prj_1", "uploadId": "upl_NEVERMINTED"}
    first, again = (
        scripe.call("POST", "/sources", headers={"Idempotency-Key": "err-1"}, json=never_minted) for _ in "12"
    )
    assert first.status_code == again.status_code == 422
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_request_the_schema_refuses_is_not_stored_under_its_key(scripe, emu):
    refused = scripe.mint(headers={"Idempotency-Key": "err-2"}, contentType="application/x-evil")
    assert_scripe_error(refused, 422, "unprocessable")  # off the allow-list, which the schema states
    assert "Idempotent-Replayed" not in refused.headers
    assert scripe.mint(headers={"Idempotency-Key": "err-2"}).status_code == 200


def test_concurrent_requests_with_the_same_key_create_one_upload(app, emu):
    def mint(_):
        client = app.test_client()
        return client.post(
            "/scripe/v1/uploads",
            json={"contentType": "audio/mpeg"},
            headers={"Authorization": f"Bearer {FULL}", "Idempotency-Key": "race-1"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(mint, range(16)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json["data"]["id"] for r in responses}) == 1
    assert len(emu.uploads.all()) == 1
    assert sorted(r.headers["Idempotent-Replayed"] for r in responses).count("false") == 1

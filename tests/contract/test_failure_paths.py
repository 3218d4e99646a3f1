"""Failure paths reached naturally, on the clock, and steered from a test: jobs that fail or are
cancelled, imports that fail, rate limits, live and test keys, keys revoked mid-run."""

from __future__ import annotations

import pytest
from support import FULL, GLOBEX, SOURCES_ONLY, assert_conforms, assert_problem, assert_scripe_error, make_app

from upload_emulator.app import emulator_of


def conforms(app, operation_id, response, vendor="scripe"):
    assert_conforms(app, operation_id, response, vendor=vendor)
    return response


@pytest.fixture
def slow_jobs():
    """Jobs that stay QUEUED 10 s and RUNNING 10 s, set with the general override."""
    app = make_app(overrides=("scripe.jobs.queued_s=10", "scripe.jobs.running_s=10"))
    yield app
    emu = emulator_of(app)
    assert not emu.take_server_errors()
    emu.close()


# --- Scripe jobs ---------------------------------------------------------------------------
def test_a_job_decided_failed_ends_failed_keeps_the_object_and_the_upload_can_be_redeemed_again(
    app, client, scripe, emu
):
    rule = {"vendor": "scripe", "kind": "job", "match": {"type": "SOURCE_INGEST_FILE"}, "result": "FAILED"}
    client.post(
        "/_emulator/outcomes", json={**rule, "errorCode": "TRANSCODE_FAILED", "errorMessage": "Bad codec.", "times": 1}
    )
    upload = scripe.uploaded()
    job = scripe.redeem_source(upload["id"]).json["data"]
    failed = conforms(app, "getJob", scripe.job(job["id"])).json["data"]
    assert (failed["status"], failed["errorCode"], failed["errorMessage"]) == (
        "FAILED",
        "TRANSCODE_FAILED",
        "Bad codec.",
    )
    assert failed["result"] is None and failed["completedAt"] is not None
    record = emu.uploads.get(upload["id"])
    assert record.state == "uploaded" and emu.storage.head(record.bucket, record.key) is not None
    retry = scripe.redeem_source(upload["id"]).json["data"]  # the client's retry
    assert scripe.job(retry["id"]).json["data"]["status"] == "DONE"
    assert emu.storage.head(record.bucket, record.key) is None


def test_a_queued_job_can_be_cancelled_and_gives_its_upload_back(slow_jobs):
    client, emu = slow_jobs.test_client(), emulator_of(slow_jobs)
    emu.clock.freeze()
    auth = {"Authorization": f"Bearer {FULL}"}
    minted = client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).json["data"]
    path = minted["uploadUrl"].split("localhost", 1)[1]
    client.put(path, data=b"x", headers={"Content-Type": "text/plain"})
    body = {"type": "file", "projectId": "p", "uploadId": minted["id"]}
    job = client.post("/scripe/v1/sources", json=body, headers=auth).json["data"]
    cancelled = conforms(slow_jobs, "cancelJob", client.post(f"/scripe/v1/jobs/{job['id']}/cancel", headers=auth))
    assert cancelled.json["data"]["status"] == "CANCELLED"
    emu.clock.advance(60)
    assert client.get(f"/scripe/v1/jobs/{job['id']}", headers=auth).json["data"]["status"] == "CANCELLED"
    assert emu.uploads.get(minted["id"]).state == "uploaded"
    again = client.post("/scripe/v1/sources", json=body, headers=auth)
    assert again.status_code == 202


def test_a_running_or_finished_job_cannot_be_cancelled(slow_jobs):
    client, emu = slow_jobs.test_client(), emulator_of(slow_jobs)
    emu.clock.freeze()
    auth = {"Authorization": f"Bearer {FULL}"}
    job = client.post("/scripe/v1/knowledge", json={"type": "text", "text": "x"}, headers=auth).json["data"]
    emu.clock.advance(12)
    running = conforms(slow_jobs, "cancelJob", client.post(f"/scripe/v1/jobs/{job['id']}/cancel", headers=auth))
    assert_scripe_error(running, 422, "unprocessable")
    assert "RUNNING" in running.json["error"]["message"]
    missing = client.post("/scripe/v1/jobs/job_nope/cancel", headers=auth)
    assert_scripe_error(conforms(slow_jobs, "cancelJob", missing), 404, "not_found")


def test_jobs_list_newest_first_with_filters_and_pages(app, client, scripe, emu):
    auth = {"Authorization": f"Bearer {FULL}"}
    client.post("/_emulator/outcomes", json={"vendor": "scripe", "kind": "job", "result": "FAILED", "times": 1})
    ids = [
        client.post("/scripe/v1/knowledge", json={"type": "text", "text": str(n)}, headers=auth).json["data"]["id"]
        for n in range(5)
    ]
    listed = conforms(app, "listJobs", scripe.call("GET", "/jobs?limit=2"))
    assert [j["id"] for j in listed.json["data"]] == ids[::-1][:2]
    assert listed.json["pagination"]["has_more"] is True
    cursor = listed.json["pagination"]["next_cursor"]
    rest = conforms(app, "listJobs", scripe.call("GET", f"/jobs?limit=10&cursor={cursor}")).json
    assert [j["id"] for j in rest["data"]] == ids[::-1][2:] and rest["pagination"] == {
        "next_cursor": None,
        "has_more": False,
    }
    failed = conforms(app, "listJobs", scripe.call("GET", "/jobs?status=FAILED")).json["data"]
    assert [j["id"] for j in failed] == [ids[0]]
    assert scripe.call("GET", "/jobs?type=SOURCE_INGEST_FILE").json["data"] == []
    future = scripe.call("GET", "/jobs?dateFrom=2999-01-01T00:00:00Z").json["data"]
    assert future == []
    assert scripe.call("GET", "/jobs", key=GLOBEX).json["data"] == []  # another workspace's jobs


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "cursor=nonsense", "dateFrom=yesterday", "status=LOST"])
def test_a_bad_jobs_query_is_400_invalid_request(app, scripe, query):
    assert_scripe_error(conforms(app, "listJobs", scripe.call("GET", f"/jobs?{query}")), 400, "invalid_request")


# --- Scripe rate limits, modes, keys ----------------------------------------------------------
def test_a_workspace_shares_one_budget_across_its_keys_and_gets_429_rate_limited(app, scripe, emu):
    emu.clock.freeze()
    answers = [scripe.call("GET", "/workspaces/me", key=FULL if n % 2 else SOURCES_ONLY) for n in range(121)]
    assert [a.status_code for a in answers] == [200] * 120 + [429]
    assert answers[0].headers["X-RateLimit-Limit"] == "120" and answers[0].headers["X-RateLimit-Remaining"] == "119"
    limited = conforms(app, "getCurrentWorkspace", answers[-1])
    assert_scripe_error(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"] == "60" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert scripe.call("GET", "/workspaces/me", key=GLOBEX).status_code == 200  # another workspace
    emu.clock.advance(60)
    assert scripe.call("GET", "/workspaces/me").status_code == 200


def test_live_and_test_keys_of_a_workspace_see_separate_data(app, client, scripe):
    live = client.post(
        "/_emulator/keys",
        json={"vendor": "scripe", "workspace": "org_acme", "kind": "live", "scopes": ["sources:write"]},
    ).json["key"]
    assert live.startswith("scripe_sk_live_")
    upload = scripe.uploaded()
    answer = conforms(app, "createSource", scripe.redeem_source(upload["id"], key=live))
    assert_scripe_error(answer, 422, "unprocessable")
    job = scripe.redeem_source(upload["id"]).json["data"]
    assert_scripe_error(scripe.job(job["id"], key=live), 404, "not_found")
    assert scripe.call("GET", "/workspaces/me", key=live).json["workspace"]["id"] == "org_acme"


def test_a_key_revoked_mid_run_fails_the_next_call(app, client, scripe):
    upload = scripe.uploaded()
    client.patch("/_emulator/keys/key_acme_full", json={"status": "revoked"})
    assert_scripe_error(scripe.redeem_source(upload["id"]), 401, "key_revoked")


def test_the_reference_caps_are_one_setting_away():
    guide, reference = make_app(), make_app(overrides=("scripe.uploads.caps=reference",))
    auth = {"Authorization": f"Bearer {FULL}"}
    body = {"contentType": "application/msword"}
    assert guide.test_client().post("/scripe/v1/uploads", json=body, headers=auth).status_code == 422
    assert reference.test_client().post("/scripe/v1/uploads", json=body, headers=auth).status_code == 200
    for made in (guide, reference):
        emulator_of(made).close()


@pytest.mark.parametrize(
    ("override", "message"),
    [("scripe.uploads.nope=1", "has no setting 'uploads.nope'"), ("boxly.a=1", "no vendor 'boxly' is served")],
)
def test_a_bad_override_stops_start_up_with_a_clear_message(override, message):
    with pytest.raises(ValueError, match=message):
        make_app(overrides=(override,))


# --- Streamloop --------------------------------------------------------------------------------
def test_an_import_decided_failed_ends_failed_and_never_uploaded(app, client, streamloop):
    client.post("/_emulator/outcomes", json={"vendor": "streamloop", "kind": "import", "result": "FAILED", "times": 1})
    created = streamloop.call("POST", "/uploads/from-link", json={"type": "VIDEO", "url": "https://example.com/a.mp4"})
    assert created.status_code == 202
    assert created.headers["Location"] == f"/streamloop/v1/uploads/{created.json['id']}"
    polled = conforms(app, "getUpload", streamloop.call("GET", f"/uploads/{created.json['id']}"), "streamloop").json
    assert polled["externalSource"]["state"]["status"] == "FAILED" and polled["uploaded"] is False
    second = streamloop.call("POST", "/uploads/from-link", json={"type": "VIDEO", "url": "https://example.com/b.mp4"})
    assert streamloop.call("GET", f"/uploads/{second.json['id']}").json["uploaded"] is True


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/nowhere", 404), ("PUT", "/uploads", 405)])
def test_routing_errors_carry_streamloops_rate_limit_headers(client, method, path, status):
    response = client.open(f"/streamloop/v1{path}", method=method, headers={"X-API-Key": "sl_test_studio_api_key"})
    assert_problem(response, status, "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED")
    assert response.headers["RateLimit-Limit"] == "600" and "RateLimit-Policy" in response.headers


def test_streamloops_status_and_openapi_document_are_served_without_credentials(app, client):
    status = conforms(app, "getStatus", client.get("/streamloop/v1/status"), "streamloop")
    assert status.json == {"status": "ok"} and status.headers["RateLimit-Limit"] == "600"
    document = conforms(app, "getOpenApiDocument", client.get("/streamloop/v1/openapi.json"), "streamloop").json
    assert document["servers"][0]["url"] == "http://localhost/streamloop/v1"
    assert "/uploads/{id}/complete" in document["paths"]


def test_a_profile_rule_such_as_a_rate_limit_can_be_overridden_too(app):
    roomy = make_app(overrides=("scripe.rate_limit.limit=5",))
    answer = roomy.test_client().get("/scripe/v1/workspaces/me", headers={"Authorization": f"Bearer {FULL}"})
    assert answer.headers["X-RateLimit-Limit"] == "5"
    emulator_of(roomy).close()

"""Injected faults on vendor operations: the vendor's own error shape, exactly `times` times."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from support import FULL, assert_scripe_error


def add_fault(client, **rule):
    response = client.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "service_unavailable"), (500, "internal_error"), (429, "rate_limited"), (401, "unauthenticated")],
)
def test_a_fault_answers_in_scripes_envelope_with_the_vendors_code_for_that_status(client, scripe, emu, status, code):
    fault = add_fault(client, vendor="scripe", operationId="createUpload", status=status, times=1)
    response = scripe.mint()
    assert_scripe_error(response, status, code)
    assert response.headers["X-Emulator-Reason"] == f"injected fault {fault['id']}"
    assert emu.uploads.all() == []
    assert emu.journal.entries()[-1]["fault"] == fault["id"]
    assert scripe.mint().status_code == 200


def test_a_fault_may_name_the_code(client, scripe):
    add_fault(client, vendor="scripe", operationId="createUpload", status=503, code="internal_error")
    assert_scripe_error(scripe.mint(), 503, "internal_error")


def test_a_429_fault_says_when_to_retry(client, scripe):
    add_fault(client, vendor="scripe", status=429, times=1)
    assert scripe.mint().headers["Retry-After"] == "1"


def test_a_fault_matches_only_its_operation_and_path(client, scripe):
    add_fault(client, vendor="scripe", operationId="getJob", status=503)
    add_fault(client, vendor="scripe", path="/scripe/v1/sources/", status=500)
    assert scripe.mint().status_code == 200
    assert scripe.call("GET", "/jobs/job_x").status_code == 503
    assert scripe.call("GET", "/sources/src_x").status_code == 500


def test_a_fault_fires_exactly_times_even_under_concurrent_requests(app, client, emu):
    fault = add_fault(client, vendor="scripe", operationId="createUpload", status=503, times=5)

    def mint(_):
        return (
            app.test_client()
            .post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers={"Authorization": f"Bearer {FULL}"})
            .status_code
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(mint, range(40)))
    assert statuses.count(503) == 5
    assert statuses.count(200) == 35
    listed = client.get("/_emulator/faults").json["data"][0]
    assert (listed["id"], listed["fired"], listed["remaining"]) == (fault["id"], 5, 0)


def test_a_fault_with_a_probability_fires_on_a_share_of_requests(client, scripe):
    add_fault(client, vendor="scripe", operationId="createUpload", status=503, probability=0.5)
    statuses = [scripe.mint().status_code for _ in range(200)]
    assert 40 < statuses.count(503) < 160


def test_a_delay_only_fault_lets_the_request_through(client, scripe, emu):
    add_fault(client, vendor="scripe", operationId="getHealth", delayMs=1, times=1)
    response = scripe.call("GET", "/health", key=None)
    assert response.status_code == 200
    assert emu.journal.entries()[-1]["fault"] is not None


def test_faults_can_be_removed_one_by_one_or_all_at_once(client, scripe):
    first = add_fault(client, vendor="scripe", status=503)
    add_fault(client, vendor="scripe", status=500)
    assert client.delete(f"/_emulator/faults/{first['id']}").status_code == 204
    assert scripe.mint().status_code == 500
    assert client.delete(f"/_emulator/faults/{first['id']}").status_code == 404
    assert client.delete("/_emulator/faults").status_code == 204
    assert scripe.mint().status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"vendor": "nobody", "status": 500},
        {"vendor": "scripe"},
        {"vendor": "scripe", "closeAfterBytes": 10},
    ],
)
def test_a_fault_that_cannot_fire_is_refused_by_the_schema(client, rule):
    response = client.post("/_emulator/faults", json=rule)
    assert response.status_code == 400  # the schema says it: a served vendor, something to do, cuts on s3 only
    assert response.content_type == "application/problem+json"

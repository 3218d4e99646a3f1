"""schemathesis over specs/scripe.yaml and the control API, against the strict-mode app.

Strict mode turns any response that breaks the spec into a 500, so `not_a_server_error`
catches spec drift as well as crashes; the conformance checks catch undocumented statuses,
content types, bodies and headers.
"""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, call_with, fuzzed_app, roomy_schema, run_stateful
from support import FULL


# Each schema gets its own app: faults the control API's fuzzing creates must not reach
# the vendor under test.
@pytest.fixture(scope="module")
def scripe_schema():
    with roomy_schema("scripe") as schema:
        yield schema


@pytest.fixture(scope="module")
def control_schema():
    with fuzzed_app() as app:
        yield schemathesis.openapi.from_wsgi("/_emulator/openapi.json", app)


scripe = schemathesis.pytest.from_fixture("scripe_schema")
control = schemathesis.pytest.from_fixture("control_schema")


@scripe.parametrize()
@FUZZ
def test_scripe_answers_every_generated_request_as_its_spec_says(case):
    call_with(case, {"Authorization": f"Bearer {FULL}"})


@scripe.parametrize()
@FUZZ
def test_scripe_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


@control.parametrize()
@FUZZ
def test_the_control_api_answers_every_generated_request_as_its_spec_says(case):
    case.call_and_validate(checks=CHECKS)


def test_stateful_runs_follow_the_links_between_sources_knowledge_and_jobs(scripe_schema):
    transitions = " ".join(vars(scripe_schema.as_state_machine()))
    assert "POST_knowledge___202_GetJob" in transitions and "GET_jobs_jobId___200_GetSource" in transitions
    calls = run_stateful(scripe_schema, {"Authorization": f"Bearer {FULL}"})
    # Generated content types rarely pass the allow-list (a 422 business rule, not a schema
    # enum), so runs seldom reach an upload's job; ids only a link can supply must answer 200.
    reached = {"GET /sources/{sourceId} 200", "GET /jobs/{jobId} 200", "POST /jobs/{jobId}/cancel 200"}
    assert reached & set(calls), "; ".join(sorted(set(calls)))

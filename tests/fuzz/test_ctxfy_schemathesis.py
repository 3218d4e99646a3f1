"""schemathesis over specs/ctxfy.yaml: every operation, authenticated and not, and a stateful run along its links."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, fuzzed_app, run_stateful
from support import ADA, fixtures_dir_with

AUTH = {"Authorization": f"Bearer {ADA}"}


@pytest.fixture(scope="module")
def ctxfy_schema(tmp_path_factory):
    # Budgets the fuzzer cannot exhaust, so it explores past the rate limit.
    def roomy(data):
        data["profile"]["rate_limit"].update(limit=1_000_000, plans={"FREE": 1_000_000, "PRO": 1_000_000})

    fixtures = fixtures_dir_with(tmp_path_factory.mktemp("fixtures"), "ctxfy", roomy)
    with fuzzed_app(fixtures_dir=fixtures) as app:
        yield schemathesis.openapi.from_wsgi("/ctxfy/openapi.json", app)


ctxfy = schemathesis.pytest.from_fixture("ctxfy_schema")


@ctxfy.parametrize()
@FUZZ
def test_ctxfy_answers_every_generated_request_with_a_key_as_its_spec_says(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)


@ctxfy.parametrize()
@FUZZ
def test_ctxfy_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


def test_stateful_runs_follow_the_links_from_keys_and_sources(ctxfy_schema):
    calls = run_stateful(ctxfy_schema, AUTH)
    followed = {call.split(" ")[1] for call in calls}
    assert {"/v1/api-keys/{keyId}", "/v1/sources/{sourceId}"} & followed, sorted(set(calls))

"""schemathesis over specs/ctxfy.yaml: every operation, authenticated and not, and a stateful run along its links."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, call_with, roomy_schema, run_stateful
from support import ADA

AUTH = {"Authorization": f"Bearer {ADA}"}


@pytest.fixture(scope="module")
def ctxfy_schema():
    with roomy_schema("ctxfy") as schema:
        yield schema


ctxfy = schemathesis.pytest.from_fixture("ctxfy_schema")


@ctxfy.parametrize()
@FUZZ
def test_ctxfy_answers_every_generated_request_with_a_key_as_its_spec_says(case):
    call_with(case, AUTH)


@ctxfy.parametrize()
@FUZZ
def test_ctxfy_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


def test_stateful_runs_follow_the_links_from_keys_and_sources(ctxfy_schema):
    calls = run_stateful(ctxfy_schema, AUTH)
    followed = {call.split(" ")[1] for call in calls}
    assert {"/v1/api-keys/{keyId}", "/v1/sources/{sourceId}"} & followed, sorted(set(calls))

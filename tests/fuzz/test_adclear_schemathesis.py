"""schemathesis over specs/adclear.yaml: every operation, with each kind of credential, and a stateful run."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, roomy_schema, run_stateful
from support import ACME_WS, ADCLEAR_SESSION, adclear_auth

API_KEY = adclear_auth()
SESSION = adclear_auth(ADCLEAR_SESSION, user=None, workspace=ACME_WS)


@pytest.fixture(scope="module")
def adclear_schema():
    with roomy_schema("adclear") as schema:
        yield schema


adclear = schemathesis.pytest.from_fixture("adclear_schema")


def _without_identity(case):
    drop = {"authorization", "x-external-user-id", "x-adclear-workspace-id"}
    return {k: v for k, v in (case.headers or {}).items() if k.lower() not in drop}


@adclear.parametrize()
@FUZZ
def test_adclear_answers_every_generated_request_with_an_api_key_as_its_spec_says(case):
    case.headers = _without_identity(case)
    case.call_and_validate(headers=API_KEY, checks=CHECKS)


@adclear.parametrize()
@FUZZ
def test_adclear_answers_every_generated_request_with_a_session_token_as_its_spec_says(case):
    case.headers = _without_identity(case)
    case.call_and_validate(headers=SESSION, checks=CHECKS)


@adclear.parametrize()
@FUZZ
def test_adclear_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


def test_stateful_runs_follow_the_links_from_initiation(adclear_schema):
    calls = run_stateful(adclear_schema, API_KEY)
    followed = {call.split(" ")[1] for call in calls}
    assert "/v1/uploads/{uploadId}" in followed, sorted(set(calls))

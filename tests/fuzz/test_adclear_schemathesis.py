"""schemathesis over specs/adclear.yaml: every operation, with each kind of credential, and a stateful run."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, call_with, roomy_schema, run_stateful
from support import ACME_WS, ADCLEAR_SESSION, adclear_auth

API_KEY = adclear_auth()
SESSION = adclear_auth(ADCLEAR_SESSION, user=None, workspace=ACME_WS)


@pytest.fixture(scope="module")
def adclear_schema():
    with roomy_schema("adclear") as schema:
        yield schema


adclear = schemathesis.pytest.from_fixture("adclear_schema")


def _with_identity(case, identity: dict) -> dict:
    """The identity headers are the generated ones when the case has them (a mutated one must
    stay mutated), else `identity`'s. The credential is returned, to be passed to the call as
    an explicit header, so that ignored_auth knows it is a real one and probes without it."""
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    present = {k.lower() for k in generated}
    defaults = {k: v for k, v in identity.items() if k.lower() not in present and k.lower() != "authorization"}
    case.headers = {**defaults, **generated}
    return {"Authorization": identity["Authorization"]}


@adclear.parametrize()
@FUZZ
def test_adclear_answers_every_generated_request_with_an_api_key_as_its_spec_says(case):
    call_with(case, _with_identity(case, API_KEY))


@adclear.parametrize()
@FUZZ
def test_adclear_answers_every_generated_request_with_a_session_token_as_its_spec_says(case):
    call_with(case, _with_identity(case, SESSION))


@adclear.parametrize()
@FUZZ
def test_adclear_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


def test_stateful_runs_follow_the_links_from_initiation(adclear_schema):
    calls = run_stateful(adclear_schema, API_KEY)
    followed = {call.split(" ")[1] for call in calls}
    assert "/v1/uploads/{uploadId}" in followed, sorted(set(calls))

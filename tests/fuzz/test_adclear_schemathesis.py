"""Adclear's own schemathesis runs: with an API key and the user it acts for (the shared run in
test_every_vendor_schemathesis.py uses a session token)."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import FUZZ, call_with, roomy_schema
from support import adclear_auth

API_KEY = adclear_auth()


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

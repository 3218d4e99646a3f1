"""schemathesis over specs/scripe.yaml and the control API, against the strict-mode app.

Strict mode turns any response that breaks the spec into a 500, so `not_a_server_error`
catches spec drift as well as crashes; the conformance checks catch undocumented statuses,
content types and bodies.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import FULL, make_app

from emulator.app import emulator_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def fuzzed_app():
    app = make_app()
    yield app
    emu = emulator_of(app)
    errors = emu.take_server_errors()
    emu.close()
    assert not errors, f"the emulator recorded server errors while fuzzed: {errors[:5]}"


@pytest.fixture(scope="module")
def scripe_schema(fuzzed_app):
    return schemathesis.openapi.from_wsgi("/scripe/openapi.json", fuzzed_app)


@pytest.fixture(scope="module")
def control_schema(fuzzed_app):
    # Reset would wipe state the other cases build on; it is covered by the contract tests.
    return schemathesis.openapi.from_wsgi("/_emulator/openapi.json", fuzzed_app).exclude(operation_id="resetEmulator")


scripe = schemathesis.pytest.from_fixture("scripe_schema")
control = schemathesis.pytest.from_fixture("control_schema")


@scripe.parametrize()
@FUZZ
def test_scripe_answers_every_generated_request_as_its_spec_says(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {FULL}"}, checks=CHECKS)


@scripe.parametrize()
@FUZZ
def test_scripe_answers_unauthenticated_requests_as_its_spec_says(case):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS)


@control.parametrize()
@FUZZ
def test_the_control_api_answers_every_generated_request_as_its_spec_says(case):
    case.call_and_validate(checks=CHECKS)

"""schemathesis over the control API (specs/emulator.yaml), against the strict-mode app."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, fuzzed_app


@pytest.fixture(scope="module")
def control_schema():
    with fuzzed_app() as app:
        yield schemathesis.openapi.from_wsgi("/_emulator/openapi.json", app)


control = schemathesis.pytest.from_fixture("control_schema")


@control.parametrize()
@FUZZ
def test_the_control_api_answers_every_generated_request_as_its_spec_says(case):
    case.call_and_validate(checks=CHECKS)

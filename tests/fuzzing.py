"""What every schemathesis run here shares: the checks, the budget, and a strict app per schema."""

from __future__ import annotations

from contextlib import contextmanager

from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import make_app

from emulator.app import emulator_of

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@contextmanager
def fuzzed_app(**settings_overrides):
    """A strict app for one schema; any server error it records while fuzzed fails the run."""
    app = make_app(**settings_overrides)
    yield app
    emu = emulator_of(app)
    errors = emu.take_server_errors()
    emu.close()
    assert not errors, f"the emulator recorded server errors while fuzzed: {errors[:5]}"

"""What every schemathesis run here shares: the checks, the budget, and a strict app per schema."""

from __future__ import annotations

import os
from contextlib import contextmanager

import schemathesis
import schemathesis.checks as schemathesis_checks
import schemathesis.specs.openapi.checks  # registers the OpenAPI checks
import yaml
from hypothesis import HealthCheck, settings
from support import FIXTURES, make_app

from upload_emulator.app import emulator_of

# Every check schemathesis registers, including negative_data_rejection, use_after_free,
# ensure_resource_availability, missing_required_header and allow_header_conformance, with
# the allowances in schemathesis.toml. Two are not yet run, and #10 says why:
# positive_data_acceptance (the Scripe and Streamloop content-type allow-lists, the control
# API's vendor names and Ctxfy's "expiration_date in the future" are rules the schemas do not
# state yet) and ignored_auth (the Adclear identity headers the tests supply).
NOT_YET = {"positive_data_acceptance", "ignored_auth"}
CHECKS = [check for check in schemathesis_checks.CHECKS.get_all() if check.__name__ not in NOT_YET]
# CI runs a fixed, quick budget. For a deeper hunt: FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 python -m pytest tests/fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)


@contextmanager
def fuzzed_app(**settings_overrides):
    """A strict app for one schema; any server error it records while fuzzed fails the run."""
    app = make_app(**settings_overrides)
    yield app
    emu = emulator_of(app)
    errors = emu.take_server_errors()
    emu.close()
    assert not errors, f"the emulator recorded server errors while fuzzed: {errors[:5]}"


ROOMY = 1_000_000_000


def _lifted_limits(vendor: str) -> tuple[str, ...]:
    """`--set` overrides that lift every rate-limit budget of a vendor's fixture out of reach."""
    rules = (yaml.safe_load((FIXTURES / f"{vendor}.yaml").read_text())["profile"].get("rate_limit")) or {}
    found = [f"{vendor}.rate_limit.limit={ROOMY}"] if rules.get("limit") is not None else []
    found += [f"{vendor}.rate_limit.plans.{plan}={ROOMY}" for plan in rules.get("plans") or {}]
    found += [
        f"{vendor}.rate_limit.operations.{op}={ROOMY}" for op, cap in (rules.get("operations") or {}).items() if cap
    ]
    return tuple(found)


@contextmanager
def roomy_schema(vendor: str):
    """schemathesis over one vendor's spec, on a strict app whose rate limits the fuzzer cannot exhaust."""
    with fuzzed_app(overrides=_lifted_limits(vendor)) as app:
        yield schemathesis.openapi.from_wsgi(f"/{vendor}/openapi.json", app)


def run_stateful(schema, headers: dict, max_examples: int = 40) -> list[str]:
    """Walk the schema's OpenAPI links as a state machine with `headers`; returns "METHOD /path status" per call."""
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    calls: list[str] = []

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            calls.append(f"{case.operation.label} {response.status_code}")

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
    return calls

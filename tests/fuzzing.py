"""What every schemathesis run here shares: the checks, the budget, and a strict app per schema."""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager

import schemathesis
import schemathesis.checks as schemathesis_checks
import schemathesis.specs.openapi.checks  # registers the OpenAPI checks
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from support import make_app

from upload_emulator.app import emulator_of
from upload_emulator.vendors import fixture_file

# Every check schemathesis registers, positive_data_acceptance and ignored_auth included,
# with the allowances in schemathesis.toml (state no schema can know, each with its reason).
CHECKS = list(schemathesis_checks.CHECKS.get_all())
# CI runs a fixed, quick budget. For a deeper hunt: FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 python -m pytest tests/fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)


_CALLS = itertools.count()


def _mutated(case, credentials: dict) -> set[str]:
    """The header names this case's negative mutations removed or broke, lower-cased. When its
    headers are negative without naming one (a coverage case listing only some headers), the
    credential it lacks is what makes it negative, so every credential counts as mutated."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    names = {getattr(data, "parameter", None)}
    names |= {m.parameter for m in getattr(data, "mutations", ()) or ()}
    found = {n.lower() for n in names if n}
    headers = (getattr(case.meta, "components", None) or {}).get(ParameterLocation.HEADER)
    if not found and headers is not None and headers.mode == GenerationMode.NEGATIVE:
        found = {name.lower() for name in credentials}
    return found


def call_with(case, credentials: dict):
    """Call and check `case` with the run's `credentials` as explicit headers (so ignored_auth
    knows them for real ones and probes without them), except one the case set out to leave
    out or break. A well-formed generated Idempotency-Key is made unique to this call: the
    fuzzer draws the same short keys again with other bodies, a collision it does not model."""
    _fresh_idempotency_key(case, _mutated(case, credentials))
    return case.call_and_validate(headers=_credentials_for(case, credentials), checks=CHECKS)


def call_as(case, carriers: dict, identity: dict):
    """`call_with` the credential `carriers`, and `identity` headers (a workspace, a user) as
    defaults a generated request's own (possibly mutated on purpose) ones win over."""
    present = {k.lower() for k in case.headers or {}}
    defaults = {k: v for k, v in identity.items() if k.lower() not in present}
    case.headers = {**defaults, **(case.headers or {})}
    return call_with(case, carriers)


def _credentials_for(case, credentials: dict) -> dict:
    """The credentials to send with `case`: all but those its negative mutations set out to break."""
    mutated = _mutated(case, credentials)
    return {k: v for k, v in credentials.items() if k.lower() not in mutated}


def _fresh_idempotency_key(case, mutated: frozenset[str] | set[str] = frozenset()) -> None:
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and name.lower() not in mutated and isinstance(value, str):
            case.headers[name] = f"{value[:200]}-{next(_CALLS)}"


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
    rules = (yaml.safe_load(fixture_file(vendor).read_text())["profile"].get("rate_limit")) or {}
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
            # as call_with: a step whose mutation broke a credential is sent without it
            _fresh_idempotency_key(case, _mutated(case, headers))
            return {"headers": _credentials_for(case, headers)}

        def after_call(self, response, case):
            calls.append(f"{case.operation.label} {response.status_code}")

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The headers are the credentials the run was given: ignored_auth probes without them.
            case.validate_response(response, checks=CHECKS, headers=_credentials_for(case, headers))

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

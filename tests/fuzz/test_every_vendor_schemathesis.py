"""schemathesis over every installed vendor's spec: every operation, with a fixture key and without.

Strict mode turns any response that breaks the spec into a 500, so `not_a_server_error`
catches spec drift as well as crashes; the conformance checks catch undocumented statuses,
content types, bodies and headers. The credentials are worked out from each vendor's spec
and fixture (`vendor_cases.py`), so a vendor installed tomorrow is fuzzed here with no edit.
Each vendor's stateful walk along its spec's links is here too. A vendor's own further runs
(a second kind of credential) live in its own test module.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import schemathesis
from fuzzing import CHECKS, FUZZ, call_as, roomy_schema, run_stateful
from support import make_app
from vendor_cases import VendorCase, case_for

from upload_emulator.vendors import installed

CASES: dict[str, VendorCase] = {}


@pytest.fixture(scope="module", params=installed())
def vendor_schema(request):
    app = make_app()
    CASES[request.param] = case_for(app, request.param)
    app.extensions["upload_emulator"].close()
    with roomy_schema(request.param) as schema:
        yield schema


def vendor_of(case) -> str:
    """The vendor a generated case is for."""
    return vendor_served_by(case.operation.schema)


def vendor_served_by(schema) -> str:
    """The first segment of the spec's served base path."""
    return urlsplit(schema.raw_schema["servers"][0]["url"]).path.strip("/").split("/")[0]


every_vendor = schemathesis.pytest.from_fixture("vendor_schema")


@every_vendor.parametrize()
@FUZZ
def test_each_vendor_answers_every_generated_request_with_a_fixture_key_as_its_spec_says(case):
    vendor = CASES[vendor_of(case)]
    call_as(case, vendor.carriers, vendor.identity)


@every_vendor.parametrize()
@FUZZ
def test_each_vendor_answers_unauthenticated_requests_as_its_spec_says(case):
    carriers = {name.lower() for name in CASES[vendor_of(case)].carriers} | {"authorization", "x-api-key"}
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in carriers}
    case.call_and_validate(checks=CHECKS)


def link_targets(raw: dict) -> set[str]:
    """ "METHOD /path" of every operation a link in the spec leads to."""
    labels = {}
    for path, item in raw["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                labels[op["operationId"]] = f"{method.upper()} {path}"
    targets = set()
    for item in raw["paths"].values():
        for op in item.values():
            for response in (op.get("responses") or {}).values() if isinstance(op, dict) else ():
                for link in (response.get("links") or {}).values() if isinstance(response, dict) else ():
                    targets.add(labels[link["operationId"]])
    return targets


def test_each_vendors_stateful_walk_reaches_an_operation_only_its_links_can_supply(vendor_schema):
    targets = link_targets(vendor_schema.raw_schema)
    assert targets, "the spec has no links: give the operation that creates something one to where it is read"
    vendor = CASES[vendor_served_by(vendor_schema)]
    calls = run_stateful(vendor_schema, vendor.credentials)
    answered = {call.rsplit(" ", 1)[0] for call in calls if call.rsplit(" ", 1)[1].startswith("2")}
    assert targets & answered, f"links lead to {sorted(targets)}; calls: {sorted(set(calls))}"

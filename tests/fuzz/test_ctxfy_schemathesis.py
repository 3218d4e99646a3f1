"""Ctxfy's own schemathesis run: a stateful walk along its links (every vendor's generated requests,
with and without a key, are in test_every_vendor_schemathesis.py)."""

from __future__ import annotations

import pytest
from fuzzing import roomy_schema, run_stateful
from support import ADA

AUTH = {"Authorization": f"Bearer {ADA}"}


@pytest.fixture(scope="module")
def ctxfy_schema():
    with roomy_schema("ctxfy") as schema:
        yield schema


def test_stateful_runs_follow_the_links_from_keys_and_sources(ctxfy_schema):
    calls = run_stateful(ctxfy_schema, AUTH)
    followed = {call.split(" ")[1] for call in calls}
    assert {"/v1/api-keys/{keyId}", "/v1/sources/{sourceId}"} & followed, sorted(set(calls))

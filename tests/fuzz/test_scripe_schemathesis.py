"""Scripe's own schemathesis run: a stateful walk along its spec's links (every vendor's generated
requests, with and without a key, are in test_every_vendor_schemathesis.py)."""

from __future__ import annotations

import pytest
from fuzzing import roomy_schema, run_stateful
from support import FULL


@pytest.fixture(scope="module")
def scripe_schema():
    with roomy_schema("scripe") as schema:
        yield schema


def test_stateful_runs_follow_the_links_between_sources_knowledge_and_jobs(scripe_schema):
    transitions = " ".join(vars(scripe_schema.as_state_machine()))
    assert "POST_knowledge___202_GetJob" in transitions and "GET_jobs_jobId___200_GetSource" in transitions
    calls = run_stateful(scripe_schema, {"Authorization": f"Bearer {FULL}"})
    # Generated content types rarely pass the allow-list (a 422 business rule, not a schema
    # enum), so runs seldom reach an upload's job; ids only a link can supply must answer 200.
    reached = {"GET /sources/{sourceId} 200", "GET /jobs/{jobId} 200", "POST /jobs/{jobId}/cancel 200"}
    assert reached & set(calls), "; ".join(sorted(set(calls)))

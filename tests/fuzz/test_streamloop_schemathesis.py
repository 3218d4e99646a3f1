"""Streamloop's own schemathesis runs: with an API key (the shared run in test_every_vendor_schemathesis.py
uses an OAuth token, the fixture key with the most scopes)."""

from __future__ import annotations

import pytest
import schemathesis
from fuzzing import FUZZ, call_with, roomy_schema
from support import STUDIO_KEY

API_KEY = {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}


@pytest.fixture(scope="module")
def streamloop_schema():
    with roomy_schema("streamloop") as schema:
        yield schema


streamloop = schemathesis.pytest.from_fixture("streamloop_schema")


@streamloop.parametrize()
@FUZZ
def test_streamloop_answers_every_generated_request_with_an_api_key_as_its_spec_says(case):
    call_with(case, API_KEY)

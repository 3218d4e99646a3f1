"""Faults on the S3 endpoint: S3 XML errors, and a PUT whose connection is cut mid-body."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from support import FULL, raw_put

from upload_emulator.app import emulator_of


def mint(live, http):
    response = http.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers={"Authorization": f"Bearer {FULL}"}
    )
    return response.json()["data"]


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
def test_an_s3_fault_answers_with_s3_xml_and_stores_nothing_then_the_retry_succeeds(live, http, status, code):
    upload = mint(live, http)
    http.post(
        f"{live.url}/_emulator/faults", json={"vendor": "s3", "operationId": "PutObject", "status": status, "times": 1}
    )
    failed = http.put(upload["uploadUrl"], data=b"payload", headers={"Content-Type": "audio/mpeg"})
    assert failed.status_code == status
    assert ET.fromstring(failed.content).findtext("Code") == code
    assert emulator_of(live.app).uploads.get(upload["id"]).state == "pending"
    retried = http.put(upload["uploadUrl"], data=b"payload", headers={"Content-Type": "audio/mpeg"})
    assert retried.status_code == 200


def test_a_put_cut_after_n_bytes_gets_no_response_and_stores_nothing(live, http):
    upload = mint(live, http)
    http.post(
        f"{live.url}/_emulator/faults",
        json={"vendor": "s3", "operationId": "PutObject", "closeAfterBytes": 1000, "times": 1},
    )
    received = raw_put(upload["uploadUrl"], "audio/mpeg", 5000, b"z" * 5000)
    assert received == b"", received[:200]
    emu = emulator_of(live.app)
    assert emu.uploads.get(upload["id"]).state == "pending"
    journaled = [e for e in emu.journal.entries() if e["vendor"] == "s3"][-1]
    assert journaled["errorCode"] == "ConnectionCut"


def test_a_cut_put_surfaces_as_a_connection_error_in_requests_and_a_retry_succeeds(live, http):
    upload = mint(live, http)
    http.post(f"{live.url}/_emulator/faults", json={"vendor": "s3", "closeAfterBytes": 10, "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(upload["uploadUrl"], data=b"q" * 100, headers={"Content-Type": "audio/mpeg"}, timeout=10)
    retried = http.put(upload["uploadUrl"], data=b"q" * 100, headers={"Content-Type": "audio/mpeg"})
    assert retried.status_code == 200
    assert emulator_of(live.app).uploads.get(upload["id"]).size == 100


def test_an_s3_read_fault_reaches_boto3(live, s3):
    import botocore.exceptions

    requests.post(
        f"{live.url}/_emulator/faults",
        json={"vendor": "s3", "operationId": "ListBuckets", "status": 503, "times": 1},
        timeout=10,
    )
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        s3.list_buckets()
    assert failed.value.response["Error"]["Code"] == "SlowDown"
    assert s3.list_buckets()["Buckets"]

"""Reading stored bytes back with boto3 the ways people do: whole, ranged, and download_file."""

from __future__ import annotations

import hashlib
import os

import botocore.exceptions
import pytest
from support import FULL

from upload_emulator.app import emulator_of

SIZE = 20 * 1024 * 1024 + 5  # big enough that download_file splits it into ranged GETs


@pytest.fixture
def stored(live, http):
    data = os.urandom(SIZE)
    upload = http.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": "video/mp4"}, headers={"Authorization": f"Bearer {FULL}"}
    ).json()["data"]
    assert http.put(upload["uploadUrl"], data=data, headers={"Content-Type": "video/mp4"}).status_code == 200
    record = emulator_of(live.app).uploads.get(upload["id"])
    return record, data


def test_download_file_reassembles_the_object_byte_identical(s3, stored, tmp_path):
    record, data = stored
    target = tmp_path / "copy.mp4"
    s3.download_file(record.bucket, record.key, str(target))
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-7", SIZE - 7, SIZE - 1),
        ("bytes=10-99999999999", 10, SIZE - 1),
    ],
)
def test_a_ranged_get_returns_206_with_exactly_those_bytes(s3, stored, asked, start, end):
    record, data = stored
    got = s3.get_object(Bucket=record.bucket, Key=record.key, Range=asked)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{end}/{SIZE}"
    assert got["Body"].read() == data[start : end + 1]


def test_an_unsatisfiable_range_is_416_invalid_range(s3, stored):
    record, _ = stored
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.get_object(Bucket=record.bucket, Key=record.key, Range=f"bytes={SIZE}-")
    assert refused.value.response["Error"]["Code"] == "InvalidRange"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert refused.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == f"bytes */{SIZE}"


def test_a_malformed_range_is_ignored_and_the_whole_object_returned(live, s3, stored):
    record, data = stored
    got = s3.get_object(Bucket=record.bucket, Key=record.key, Range="bytes=5-2")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()


def test_status_lines_carry_the_reason_phrase_as_s3_and_the_vendors_send_it(live):
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(live.url)
    for method, path, expected in [
        ("GET", "/s3/", "403 Forbidden"),
        ("GET", "/scripe/v1/nowhere", "404 Not Found"),
        ("POST", "/ctxfy/v1/upload/s3", "401 Unauthorized"),
        ("GET", "/_emulator/health", "200 OK"),
    ]:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        conn.request(method, path)
        response = conn.getresponse()
        assert f"{response.status} {response.reason}" == expected
        conn.close()

"""The S3 endpoint answers as S3 would: one auth mechanism, 501 for what it lacks, listings and
and HeadBucket for boto3."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import botocore.exceptions
import pytest
from support import FULL

from upload_emulator.app import emulator_of

AUTH = {"Authorization": f"Bearer {FULL}"}


def mint(http, live, content_type: str = "text/plain") -> dict:
    return http.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": content_type}, headers=AUTH, timeout=10
    ).json()["data"]


def code_of(response) -> str:
    return ET.fromstring(response.content).findtext("Code")


def test_a_presigned_put_that_also_sends_authorization_is_400_invalid_argument(live, http):
    minted = mint(http, live)
    headers = {"Content-Type": "text/plain", "Authorization": "AWS4-HMAC-SHA256 Credential=x"}
    refused = http.put(minted["uploadUrl"], data=b"x", headers=headers, timeout=10)
    assert refused.status_code == 400 and code_of(refused) == "InvalidArgument"
    assert emulator_of(live.app).uploads.get(minted["id"]).state == "pending"


def test_a_signing_parameter_given_twice_is_refused(live, http):
    minted = mint(http, live)
    url = minted["uploadUrl"] + "&X-Amz-Signature=" + "0" * 64
    refused = http.put(url, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert refused.status_code == 400 and code_of(refused) == "InvalidArgument"
    assert "X-Amz-Signature" in refused.text


@pytest.mark.parametrize(
    ("method", "query"), [("GET", "acl"), ("PUT", "tagging"), ("POST", "uploads"), ("GET", "versioning")]
)
def test_a_sub_resource_the_emulator_lacks_is_501_not_implemented(live, http, s3, method, query):
    bucket = emulator_of(live.app).bucket_for("scripe")
    response = http.request(method, f"{live.url}/s3/{bucket}/key?{query}", data=b"abc", timeout=10)
    assert response.status_code == 501 and code_of(response) == "NotImplemented"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.get_bucket_acl(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert emulator_of(live.app).storage.list(bucket) == []


def test_listings_page_and_group_by_delimiter_and_head_bucket_works(live, http, s3):
    emu = emulator_of(live.app)
    bucket = emu.bucket_for("scripe")
    for n in range(5):
        minted = mint(http, live)
        http.put(minted["uploadUrl"], data=b"x%d" % n, headers={"Content-Type": "text/plain"}, timeout=10)
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_bucket(Bucket="no-such-bucket")
    grouped = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["api-uploads/"] and "Contents" not in grouped
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [p["KeyCount"] for p in pages] == [2, 2, 1]
    keys = [o["Key"] for p in pages for o in p["Contents"]]
    assert keys == sorted(keys) and len(set(keys)) == 5


MINTS = {
    "scripe": ("/scripe/v1/uploads", FULL, b'{"contentType": "text/plain"}'),
    "ctxfy": (
        "/ctxfy/v1/upload/s3",
        "ctx_test_ada_main_key_0001",
        b'{"filename": "a", "contentType": "text/plain", "size": 1}',
    ),
}


@pytest.mark.parametrize("vendor", sorted(MINTS))
@pytest.mark.parametrize("host", ["", "a b", "evil.example/path", "x:y:z"])
def test_a_host_that_cannot_make_a_url_never_yields_a_broken_upload_url(live, host, vendor):
    target = urlsplit(live.url)
    path, key, body = MINTS[vendor]
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection((target.hostname, target.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b"http:///" not in answer, answer[:300]
    assert emulator_of(live.app).uploads.all() == []

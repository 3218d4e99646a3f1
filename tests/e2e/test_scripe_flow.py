"""The whole Scripe upload flow over real HTTP: requests, boto3 and curl against a live server."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions
import pytest
from support import FULL, GLOBEX, raw_put

from upload_emulator.app import emulator_of

AUTH = {"Authorization": f"Bearer {FULL}"}


def mint(live, http, key=FULL, **body):
    body.setdefault("contentType", "audio/mpeg")
    response = http.post(f"{live.url}/scripe/v1/uploads", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def s3_error(response) -> str:
    assert response.headers["Content-Type"] == "application/xml"
    return ET.fromstring(response.content).findtext("Code")


def record(live, upload_id):
    return emulator_of(live.app).uploads.get(upload_id)


def stored_objects(s3, live):
    bucket = emulator_of(live.app).bucket_for("scripe")
    return s3.list_objects_v2(Bucket=bucket).get("Contents", [])


def test_mint_put_read_back_with_boto3_and_redeem(live, http, s3):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    upload = mint(live, http)
    put = http.put(upload["uploadUrl"], data=payload, headers={"Content-Type": "audio/mpeg"})
    assert put.status_code == 200
    assert put.content == b""
    assert put.headers["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'

    rec = record(live, upload["id"])
    got = s3.get_object(Bucket=rec.bucket, Key=rec.key)
    body = got["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest() == rec.sha256
    assert got["ContentType"] == "audio/mpeg"
    admin = http.get(f"{live.url}/_emulator/uploads/{upload['id']}/content")
    assert hashlib.sha256(admin.content).digest() == hashlib.sha256(payload).digest()

    job = http.post(
        f"{live.url}/scripe/v1/sources",
        headers=AUTH,
        json={"type": "file", "projectId": "prj_1", "uploadId": upload["id"]},
    ).json()["data"]
    done = http.get(f"{live.url}/scripe/v1/jobs/{job['id']}", headers=AUTH).json()["data"]
    assert done["status"] == "DONE"
    source = http.get(f"{live.url}/scripe/v1/sources/{done['result']['sourceId']}", headers=AUTH)
    assert source.status_code == 200
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        s3.get_object(Bucket=rec.bucket, Key=rec.key)
    assert gone.value.response["Error"]["Code"] == "NoSuchKey"


def test_the_readme_walkthrough_works_with_curl(live):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is required for this test (apt-get install curl)")
    minted = subprocess.run(
        [
            curl,
            "-sS",
            "-X",
            "POST",
            f"{live.url}/scripe/v1/uploads",
            "-H",
            f"Authorization: Bearer {FULL}",
            "-H",
            "Scripe-Api-Version: 2026-08-01",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"contentType": "text/plain", "maxSizeBytes": 1048576}',
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    import json

    upload = json.loads(minted.stdout)["data"]
    put = subprocess.run(
        [
            curl,
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            upload["uploadUrl"],
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "hello from curl",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    assert put.stdout == "200"
    assert record(live, upload["id"]).sha256 == hashlib.sha256(b"hello from curl").hexdigest()


def _tamper_path(url):
    return url.replace("/api-uploads/", "/api-uploads-x/", 1)


def _tamper_query(url):
    return url.replace("X-Amz-Expires=900", "X-Amz-Expires=901")


def _decoded(url):
    return url.replace("%2F", "/").replace("%3B", ";")


def _resigned_by_someone_else(url):
    head, _, _sig = url.rpartition("X-Amz-Signature=")
    return head + "X-Amz-Signature=" + "0" * 64


@pytest.mark.parametrize(
    "break_url",
    [_tamper_query, _decoded, _resigned_by_someone_else],
    ids=["query-changed", "url-decoded", "foreign-signature"],
)
def test_a_tampered_url_is_403_signature_does_not_match_and_stores_nothing(live, http, s3, break_url):
    upload = mint(live, http)
    response = http.put(break_url(upload["uploadUrl"]), data=b"bytes", headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 403
    assert s3_error(response) == "SignatureDoesNotMatch"
    assert record(live, upload["id"]).state == "pending"
    assert stored_objects(s3, live) == []


def test_a_tampered_path_is_rejected_and_stores_nothing(live, http, s3):
    upload = mint(live, http)
    response = http.put(_tamper_path(upload["uploadUrl"]), data=b"bytes", headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 403
    assert s3_error(response) == "SignatureDoesNotMatch"
    assert stored_objects(s3, live) == []


def test_a_content_type_other_than_the_signed_one_is_403_and_stores_nothing(live, http, s3):
    upload = mint(live, http)
    response = http.put(upload["uploadUrl"], data=b"bytes", headers={"Content-Type": "audio/wav"})
    assert response.status_code == 403
    assert s3_error(response) == "SignatureDoesNotMatch"
    assert stored_objects(s3, live) == []


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_wrong_method_is_403_signature_does_not_match(live, http, s3, method):
    upload = mint(live, http)
    response = http.request(method, upload["uploadUrl"], data=b"bytes", headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 403
    assert s3_error(response) == "SignatureDoesNotMatch"
    assert stored_objects(s3, live) == []


def test_a_put_after_expiry_is_403_access_denied_and_stores_nothing(live, http, s3):
    upload = mint(live, http)
    assert http.post(f"{live.url}/_emulator/clock", json={"advanceSeconds": 900}).status_code == 200
    response = http.put(upload["uploadUrl"], data=b"bytes", headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 403
    assert s3_error(response) == "AccessDenied"
    error = ET.fromstring(response.content)
    assert error.findtext("Message") == "Request has expired"
    assert error.findtext("X-Amz-Expires") == "900"
    assert stored_objects(s3, live) == []


def test_a_put_just_before_expiry_succeeds(live, http):
    http.post(f"{live.url}/_emulator/clock", json={"frozen": True})  # no real time may pass meanwhile
    upload = mint(live, http)
    http.post(f"{live.url}/_emulator/clock", json={"advanceSeconds": 899})
    assert http.put(upload["uploadUrl"], data=b"ok", headers={"Content-Type": "audio/mpeg"}).status_code == 200


def test_a_body_over_max_size_is_412_and_stores_nothing(live, http, s3):
    upload = mint(live, http, maxSizeBytes=10)
    response = http.put(upload["uploadUrl"], data=b"x" * 11, headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 412
    error = ET.fromstring(response.content)
    assert (error.findtext("ProposedSize"), error.findtext("MaxSizeAllowed")) == ("11", "10")
    assert record(live, upload["id"]).state == "pending"
    assert stored_objects(s3, live) == []
    exact = http.put(upload["uploadUrl"], data=b"x" * 10, headers={"Content-Type": "audio/mpeg"})
    assert exact.status_code == 200


def test_a_chunked_put_without_content_length_is_411_and_stores_nothing(live, http, s3):
    upload = mint(live, http)
    response = http.put(upload["uploadUrl"], data=iter([b"abc", b"def"]), headers={"Content-Type": "audio/mpeg"})
    assert response.status_code == 411
    assert s3_error(response) == "MissingContentLength"
    assert stored_objects(s3, live) == []


def test_an_interrupted_put_stores_nothing_and_a_retry_succeeds(live, http, s3):
    upload = mint(live, http)
    raw_put(upload["uploadUrl"], "audio/mpeg", 100_000, b"x" * 40_000)
    assert record(live, upload["id"]).state == "pending"
    assert stored_objects(s3, live) == []
    retry = http.put(upload["uploadUrl"], data=b"y" * 1000, headers={"Content-Type": "audio/mpeg"})
    assert retry.status_code == 200
    assert record(live, upload["id"]).size == 1000


def test_a_put_to_a_used_upload_is_refused(live, http, s3):
    upload = mint(live, http)
    http.put(upload["uploadUrl"], data=b"first", headers={"Content-Type": "audio/mpeg"})
    http.post(
        f"{live.url}/scripe/v1/sources", headers=AUTH, json={"type": "file", "projectId": "p", "uploadId": upload["id"]}
    )
    again = http.put(upload["uploadUrl"], data=b"second", headers={"Content-Type": "audio/mpeg"})
    assert again.status_code == 403
    assert s3_error(again) == "AccessDenied"
    assert stored_objects(s3, live) == []


def test_one_workspace_cannot_redeem_or_see_anothers_upload(live, http):
    upload = mint(live, http)
    http.put(upload["uploadUrl"], data=b"acme", headers={"Content-Type": "audio/mpeg"})
    stolen = http.post(
        f"{live.url}/scripe/v1/sources",
        headers={"Authorization": f"Bearer {GLOBEX}"},
        json={"type": "file", "projectId": "p", "uploadId": upload["id"]},
    )
    assert stolen.status_code == 422
    assert stolen.json()["error"]["code"] == "unprocessable"
    assert record(live, upload["id"]).state == "uploaded"


def test_concurrent_mints_with_one_idempotency_key_create_one_upload(live):
    import requests

    def go(_):
        return requests.post(
            f"{live.url}/scripe/v1/uploads",
            json={"contentType": "audio/mpeg"},
            headers={**AUTH, "Idempotency-Key": "live-race"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(go, range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert len(emulator_of(live.app).uploads.all()) == 1


def test_rejected_requests_are_journaled_with_masked_keys(live, http):
    http.post(f"{live.url}/scripe/v1/uploads", json={}, headers=AUTH)
    entries = http.get(f"{live.url}/_emulator/requests", params={"vendor": "scripe"}).json()["data"]
    assert entries[-1]["status"] == 400
    assert entries[-1]["errorCode"] == "invalid_request"
    assert FULL not in str(entries)


def test_boto3_reads_need_the_emulators_credentials(live):
    import boto3
    from botocore.config import Config

    stranger = boto3.client(
        "s3",
        endpoint_url=f"{live.url}/s3",
        aws_access_key_id="SOMEONEELSE",
        aws_secret_access_key="nope",
        region_name="us-east-1",
        config=Config(signature_version="s3v4", retries={"mode": "standard", "total_max_attempts": 1}),
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        stranger.list_buckets()
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_boto3_lists_the_vendor_bucket(live, s3):
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert emulator_of(live.app).bucket_for("scripe") in names


def test_a_put_whose_content_md5_does_not_match_is_400_bad_digest_and_stores_nothing(live, http, s3):
    import base64

    upload = mint(live, http)
    wrong = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
    refused = http.put(
        upload["uploadUrl"], data=b"payload", headers={"Content-Type": "audio/mpeg", "Content-MD5": wrong}
    )
    assert refused.status_code == 400 and s3_error(refused) == "BadDigest"
    assert stored_objects(s3, live) == []
    garbled = http.put(
        upload["uploadUrl"], data=b"payload", headers={"Content-Type": "audio/mpeg", "Content-MD5": "not-base64!"}
    )
    assert garbled.status_code == 400 and s3_error(garbled) == "InvalidDigest"
    right = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    accepted = http.put(
        upload["uploadUrl"], data=b"payload", headers={"Content-Type": "audio/mpeg", "Content-MD5": right}
    )
    assert accepted.status_code == 200

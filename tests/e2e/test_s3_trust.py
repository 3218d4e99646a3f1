"""The S3 side trusts only what the emulator minted: the printed credentials read and never write,
a declared payload digest is checked, SigV2 is answered as a SigV4-only bucket answers it, and
the AWS CLI's own questions (the bucket's region) are answered."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from support import FULL, GLOBEX

from upload_emulator.app import emulator_of
from upload_emulator.cli import banner
from upload_emulator.core.settings import Settings

SIGV4_ONLY = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def code_of(response) -> str:
    return ET.fromstring(response.content).findtext("Code")


def uploaded(http, live, key: str, data: bytes) -> dict:
    minted = http.post(
        f"{live.url}/scripe/v1/uploads",
        json={"contentType": "text/plain"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()["data"]
    stored = http.put(minted["uploadUrl"], data=data, headers={"Content-Type": "text/plain"}, timeout=10)
    assert stored.status_code == 200, stored.text
    return minted


def printed_client(live, signature_version: str = "s3v4"):
    """boto3 as a user builds it from what `serve` prints."""
    settings = emulator_of(live.app).settings
    return boto3.client(
        "s3",
        endpoint_url=f"{live.url}/s3",
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(signature_version=signature_version, s3={"addressing_style": "path"}),
    )


def test_the_printed_credentials_cannot_presign_a_put_over_another_workspaces_object(live, http):
    theirs = uploaded(http, live, GLOBEX, b"globex's bytes")
    record = emulator_of(live.app).uploads.get(theirs["id"])
    before = record.sha256
    forged = printed_client(live).generate_presigned_url(
        "put_object",
        Params={"Bucket": record.bucket, "Key": record.key, "ContentType": "text/plain"},
        ExpiresIn=604800,
    )
    refused = http.put(forged, data=b"overwritten", headers={"Content-Type": "text/plain"}, timeout=10)
    assert refused.status_code == 403 and code_of(refused) == "AccessDenied"
    assert record.sha256 == before == hashlib.sha256(b"globex's bytes").hexdigest()
    assert b"".join(emulator_of(live.app).storage.iter_content(record.bucket, record.key)) == b"globex's bytes"


def test_a_self_made_url_stores_nothing_after_the_emulators_own_url_expired(live, http):
    minted = http.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": "text/plain"}, headers={"Authorization": f"Bearer {FULL}"}
    ).json()["data"]
    record = emulator_of(live.app).uploads.get(minted["id"])
    http.post(f"{live.url}/_emulator/clock", json={"advanceSeconds": 901})
    late = http.put(minted["uploadUrl"], data=b"late", headers={"Content-Type": "text/plain"})
    assert late.status_code == 403
    forged = printed_client(live).generate_presigned_url(
        "put_object", Params={"Bucket": record.bucket, "Key": record.key, "ContentType": "text/plain"}, ExpiresIn=3600
    )
    refused = http.put(forged, data=b"late", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 403 and code_of(refused) == "AccessDenied"
    assert record.state == "pending" and emulator_of(live.app).storage.head(record.bucket, record.key) is None


def test_a_minted_url_put_twice_inside_its_window_overwrites_as_s3_does(live, http):
    minted = uploaded(http, live, FULL, b"first")
    again = http.put(minted["uploadUrl"], data=b"second", headers={"Content-Type": "text/plain"}, timeout=10)
    assert again.status_code == 200
    record = emulator_of(live.app).uploads.get(minted["id"])
    assert record.sha256 == hashlib.sha256(b"second").hexdigest()


def test_the_printed_credentials_cannot_delete_and_the_upload_stays_usable(live, http, s3):
    minted = uploaded(http, live, FULL, b"kept")
    record = emulator_of(live.app).uploads.get(minted["id"])
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.delete_object(Bucket=record.bucket, Key=record.key)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=record.bucket, Key=record.key)["Body"].read() == b"kept"
    redeemed = http.post(
        f"{live.url}/scripe/v1/sources",
        json={"type": "file", "projectId": "p", "uploadId": minted["id"]},
        headers={"Authorization": f"Bearer {FULL}"},
        timeout=10,
    )
    assert redeemed.status_code == 202, redeemed.text


def test_minted_urls_are_signed_with_a_secret_the_banner_never_prints(live):
    emu = emulator_of(live.app)
    printed = banner(live.app, emu.settings, 8080)
    assert emu.presigner.secret_key not in printed and emu.presigner.access_key not in printed
    assert emu.settings.s3_secret_key in printed and f"region {emu.settings.s3_region}" in printed
    other = emulator_of(live.app).presigner.secret_key
    from support import make_app

    second = make_app()
    try:
        assert emulator_of(second).presigner.secret_key != other  # one per start
    finally:
        emulator_of(second).close()


@pytest.mark.parametrize(
    ("declared", "status", "code"),
    [
        (hashlib.sha256(b"other bytes").hexdigest(), 400, "XAmzContentSHA256Mismatch"),
        ("not-a-digest", 400, "InvalidArgument"),
        (hashlib.sha256(b"the bytes").hexdigest(), 200, None),
        ("UNSIGNED-PAYLOAD", 200, None),
    ],
)
def test_a_declared_payload_digest_is_checked_and_a_wrong_one_stores_nothing(live, http, declared, status, code):
    minted = http.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": "text/plain"}, headers={"Authorization": f"Bearer {FULL}"}
    ).json()["data"]
    headers = {"Content-Type": "text/plain", "x-amz-content-sha256": declared}
    answer = http.put(minted["uploadUrl"], data=b"the bytes", headers=headers, timeout=10)
    assert answer.status_code == status, answer.text
    record = emulator_of(live.app).uploads.get(minted["id"])
    if code is None:
        assert record.sha256 == hashlib.sha256(b"the bytes").hexdigest()
    else:
        assert code_of(answer) == code and record.state == "pending"
        assert emulator_of(live.app).storage.head(record.bucket, record.key) is None


def test_boto3s_default_sigv2_presigned_url_is_answered_as_a_sigv4_only_bucket_answers(live, http):
    minted = uploaded(http, live, FULL, b"read me")
    record = emulator_of(live.app).uploads.get(minted["id"])
    v2 = printed_client(live, signature_version="s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": record.bucket, "Key": record.key})
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    for method in ("GET", "PUT"):
        answer = http.request(method, url, data=b"x" if method == "PUT" else None, timeout=10)
        assert answer.status_code == 400 and code_of(answer) == "InvalidRequest"
        assert ET.fromstring(answer.content).findtext("Message") == SIGV4_ONLY
    assert record.sha256 == hashlib.sha256(b"read me").hexdigest()


def test_get_bucket_location_answers_the_region(live, s3):
    bucket = emulator_of(live.app).bucket_for("scripe")
    region = emulator_of(live.app).settings.s3_region
    constraint = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    assert (constraint or "us-east-1") == region


def aws(live, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("aws")
    if not executable.exists():
        pytest.fail("the AWS CLI is part of the test tools: bin/setup test installs it")
    settings = Settings()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
        "AWS_DEFAULT_REGION": settings.s3_region,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    (tmp_path / "config").write_text("[default]\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n")
    command = [str(executable), "--endpoint-url", f"{live.url}/s3", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_the_aws_cli_reads_back_and_cannot_write_with_the_printed_credentials(live, http, tmp_path):
    minted = uploaded(http, live, FULL, b"through the cli")
    record = emulator_of(live.app).uploads.get(minted["id"])
    where = aws(live, "s3api", "get-bucket-location", "--bucket", record.bucket, tmp_path=tmp_path)
    assert where.returncode == 0, where.stderr
    copied = aws(live, "s3", "cp", f"s3://{record.bucket}/{record.key}", str(tmp_path / "out"), tmp_path=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "out").read_bytes() == b"through the cli"
    (tmp_path / "in").write_bytes(b"overwrite")
    put = aws(live, "s3", "cp", str(tmp_path / "in"), f"s3://{record.bucket}/{record.key}", tmp_path=tmp_path)
    assert put.returncode != 0 and "AccessDenied" in put.stderr
    assert record.sha256 == hashlib.sha256(b"through the cli").hexdigest()

"""Mint and verify SigV4 presigned URLs: every tampering is caught, expiry is on our clock."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from upload_emulator.blobs.presign import Presigner
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8080/s3/bkt/api-uploads/org_acme/upl_1"
CT = {"Content-Type": "audio/mpeg"}


@pytest.fixture
def signer():
    return Presigner("AKIDEXAMPLE", "secret", "us-east-1")


def parts(url):
    target = urlsplit(url)
    return target.netloc, target.path, target.query


def verify(signer, url, method="PUT", headers=CT, now=NOW, host=None):
    netloc, path, query = parts(url)
    return signer.verify_query(method, host or netloc, path, query, headers, now)


def rejected(signer, url, **kw) -> ApiError:
    with pytest.raises(ApiError) as caught:
        verify(signer, url, **kw)
    return caught.value


def test_a_minted_url_verifies_and_says_when_it_expires(signer):
    url = signer.mint("PUT", URL, CT, 900, NOW)
    verified = verify(signer, url)
    assert verified.expires_at == NOW + timedelta(seconds=900)
    assert "X-Amz-Date=20261122T120000Z" in url


def test_urls_minted_by_botocore_itself_verify(signer):
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:8080/s3",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url = client.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": "a b/c", "ContentType": "x/y"})
    netloc, path, query = parts(url)
    now = datetime.now(UTC)  # noqa: TID251 - botocore signed this URL with the wall clock
    signer.verify_query("PUT", netloc, path, query, {"content-type": "x/y"}, now)


@pytest.mark.parametrize(
    ("change", "kwargs"),
    [
        ("content type", {"headers": {"Content-Type": "audio/wav"}}),
        ("missing content type", {"headers": {}}),
        ("method", {"method": "GET"}),
        ("host", {"host": "localhost:8080"}),
    ],
)
def test_any_change_to_a_signed_part_is_signature_does_not_match(signer, change, kwargs):
    url = signer.mint("PUT", URL, CT, 900, NOW)
    assert rejected(signer, url, **kwargs).kind is errors.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    "tamper",
    [
        lambda u: u.replace("/upl_1", "/upl_2"),
        lambda u: u.replace("X-Amz-Expires=900", "X-Amz-Expires=9000"),
        lambda u: u.replace("X-Amz-Date=20261122T120000Z", "X-Amz-Date=20261122T130000Z"),
        lambda u: u + "&extra=1",
        lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"),
    ],
    ids=["path", "expires", "date", "extra-param", "signature"],
)
def test_a_tampered_url_is_signature_does_not_match(signer, tamper):
    url = tamper(signer.mint("PUT", URL, CT, 900, NOW))
    assert rejected(signer, url).kind is errors.SIGNATURE_MISMATCH


def test_a_url_is_valid_until_its_last_second_and_expired_from_then_on(signer):
    url = signer.mint("PUT", URL, CT, 900, NOW)
    verify(signer, url, now=NOW + timedelta(seconds=899))
    err = rejected(signer, url, now=NOW + timedelta(seconds=900))
    assert err.kind is errors.REQUEST_EXPIRED
    assert err.extra["X-Amz-Expires"] == 900


def test_a_url_signed_with_another_access_key_is_invalid_access_key_id(signer):
    url = Presigner("SOMEONEELSE", "secret", "us-east-1").mint("PUT", URL, CT, 900, NOW)
    assert rejected(signer, url).code == "InvalidAccessKeyId"


def test_a_url_signed_by_a_different_secret_does_not_match(signer):
    url = Presigner("AKIDEXAMPLE", "other", "us-east-1").mint("PUT", URL, CT, 900, NOW)
    assert rejected(signer, url).kind is errors.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    "param",
    ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"],
)
def test_a_missing_auth_parameter_is_authorization_query_parameters_error(signer, param):
    url = signer.mint("PUT", URL, CT, 900, NOW)
    base, _, query = url.partition("?")
    kept = "&".join(p for p in query.split("&") if not p.startswith(param + "="))
    assert rejected(signer, f"{base}?{kept}").kind is errors.AUTH_QUERY_INVALID


@pytest.mark.parametrize("expires", ["0", "604801", "soon"])
def test_an_out_of_range_expiry_is_rejected(signer, expires):
    url = signer.mint("PUT", URL, CT, 900, NOW).replace("X-Amz-Expires=900", f"X-Amz-Expires={expires}")
    assert rejected(signer, url).kind is errors.AUTH_QUERY_INVALID


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (lambda u: u.replace("us-east-1", "eu-west-1"), "region"),
        (lambda u: u.replace("X-Amz-Date=20261122T120000Z", "X-Amz-Date=yesterday"), "ISO8601"),
        (lambda u: u.replace("%2F20261122%2F", "%2F20261121%2F"), "does not match"),
        (lambda u: u.replace("%2Fs3%2F", "%2Fs4%2F"), "X-Amz-Credential"),
        (lambda u: u.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), "AWS4-HMAC-SHA256"),
        (lambda u: u.replace("content-type%3Bhost", "content-type"), "host"),
    ],
    ids=["region", "date-format", "scope-date", "service", "algorithm", "host-unsigned"],
)
def test_a_malformed_auth_query_is_authorization_query_parameters_error_saying_why(signer, tamper, says):
    err = rejected(signer, tamper(signer.mint("PUT", URL, CT, 900, NOW)))
    assert err.kind is errors.AUTH_QUERY_INVALID
    assert says in err.message


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_minter_makes_byte_for_byte_the_url_botocore_makes(seed):
    import random
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote

    from upload_emulator.blobs.presign import Presigner

    rng = random.Random(seed)
    presigner = Presigner("UPLOADEMULATORKEY", "upload-emulator-secret-key", rng.choice(["us-east-1", "eu-west-3"]))
    key = "".join(rng.choice("abcXYZ019-_.~/ %+=!*'()é😀") for _ in range(rng.randint(1, 40)))
    host = rng.choice(["127.0.0.1:8080", "localhost:51234", "[::1]:9000", "emulator.test"])
    url = f"http://{host}/s3/bucket-{seed}/{quote(key, safe='/~')}"
    headers = {
        "Content-Type": rng.choice(
            [
                "text/plain",
                "audio/mpeg",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "text/plain;  charset=UTF-8",
            ]
        ),
        "host": host,
    }
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8))
    expires = rng.randint(1, 604800)
    assert presigner.mint("PUT", url, headers, expires, now) == presigner.mint_with_botocore(
        "PUT", url, headers, expires, now
    )


def test_the_timestamp_format_written_out_is_botocores():
    from botocore.auth import SIGV4_TIMESTAMP as BOTOCORES

    from upload_emulator.blobs.sigv4 import SIGV4_TIMESTAMP

    assert SIGV4_TIMESTAMP == BOTOCORES


@pytest.mark.parametrize("key", ["ws/upl_1", "a b/c?d#e%f", "caf\u00e9/\U0001f600", "~x/./y"])
def test_a_minted_put_url_built_from_parts_is_the_one_its_object_url_signs_to(key):
    from types import SimpleNamespace

    from upload_emulator.api.upload_flow import object_url, presign_put
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.services.records import UploadRecord

    emu = emulator_of(create_app())
    record = UploadRecord("upl_1", "scripe", "ws", "audio/mpeg", 10, NOW, None, "bkt", key)
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        call = SimpleNamespace(emu=emu, now=NOW, request=SimpleNamespace(scheme="http", host=host))
        from_url = emu.presigner.mint("PUT", object_url(call, record), {**CT, "host": host}, 900, NOW)
        assert presign_put(call, record, ttl_s=900) == from_url
    emu.close()

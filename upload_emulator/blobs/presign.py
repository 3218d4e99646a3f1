"""Mint and verify AWS SigV4 presigned URLs, on the emulator's clock.

Verification is botocore's own signer (`botocore_sigv4.py`; botocore loads on first use), which
recomputes the signature at the request's own X-Amz-Date: the canonical request, string to
sign and signing key are botocore's, so what AWS would reject is rejected. Minting, the hot
path, is SigV4's recipe written out here and tested equal to botocore's byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

from upload_emulator.blobs.botocore_sigv4 import signers
from upload_emulator.blobs.sigv4 import QUERY_AUTH_PARAMS, SIGV4_TIMESTAMP, Computed
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError

MAX_EXPIRES_S = 604800


@dataclass(frozen=True)
class Verified:
    """What a valid signature vouches for."""

    access_key: str
    signed_at: datetime
    expires_at: datetime | None


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    return [pair.partition("=")[::2] for pair in raw_query.split("&") if pair]


def _parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)


class Presigner:
    """Mints with one credential (`access_key`, `secret_key`) and verifies that one and any of
    `readers` (access key → secret): `Verified.access_key` says which signed a request, and
    the caller decides what each may do (the emulator's printed credentials only read)."""

    def __init__(self, access_key: str, secret_key: str, region: str, readers: dict[str, str] | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._secrets = {**(readers or {}), access_key: secret_key}
        self._keys: dict[str, bytes] = {}
        self._quotes: dict[str, str] = {}

    def mint(self, method: str, url: str, headers: dict[str, str], expires_s: int, now: datetime) -> str:
        """A presigned URL for `method url`; every header given is signed (host always is).

        The hot path of every mint, so it is SigV4's query-string recipe written out with a
        signing key derived once a day, instead of botocore's request objects (a third of a
        mint's time). `mint_with_botocore` is the reference it must equal, byte for byte: a
        test compares them over many inputs, and verification stays botocore's.
        """
        target = urlsplit(url)
        return self.mint_at(method, target.scheme, target.netloc, target.path, headers, expires_s, now)

    def mint_at(
        self, method: str, scheme: str, netloc: str, path: str, headers: dict[str, str], expires_s: int, now: datetime
    ) -> str:
        """`mint` for a URL already in parts (a minting vendor builds its URL from them)."""
        stamp = now.astimezone(UTC).strftime(SIGV4_TIMESTAMP)
        day = stamp[:8]
        scope = f"{day}/{self.region}/s3/aws4_request"
        signing = {name.lower(): value for name, value in headers.items()}
        if "host" not in signing:  # as botocore does: the URL's host, without a default port
            default = {"http": ":80", "https": ":443"}.get(scheme, "")
            signing["host"] = netloc.removesuffix(default) if default else netloc
        signed = sorted((name, " ".join(str(value).split())) for name, value in signing.items())
        signed_names = ";".join(name for name, _ in signed)
        canonical_query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={self._quoted(f'{self.access_key}/{scope}')}"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={int(expires_s)}"  # digits, T and Z need no quoting
            f"&X-Amz-SignedHeaders={self._quoted(signed_names)}"
        )
        canonical = "\n".join(
            (
                method,
                path or "/",
                canonical_query,
                "".join(f"{name}:{value}\n" for name, value in signed),
                signed_names,
                "UNSIGNED-PAYLOAD",
            )
        )
        string_to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day), string_to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{scheme}://{netloc}{path}?{canonical_query}&X-Amz-Signature={signature}"

    def _quoted(self, value: str) -> str:
        """A query value as SigV4 encodes it; the few values a presigner signs repeat, so they are kept."""
        found = self._quotes.get(value)
        if found is None:
            if len(self._quotes) >= 256:  # each day's scope is a new credential: start again
                self._quotes.clear()
            found = self._quotes[value] = quote(value, safe="-_.~")
        return found

    def _signing_key(self, day: str) -> bytes:
        """SigV4's derived key for a day (kDate → kRegion → kService → kSigning), kept per day."""
        key = self._keys.get(day)
        if key is None:
            key = ("AWS4" + self.secret_key).encode()
            for part in (day, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}  # one day at a time: the dict never grows
        return key

    def mint_with_botocore(self, method: str, url: str, headers: dict[str, str], expires_s: int, now: datetime) -> str:
        """The same URL as `mint`, made by botocore's presigner (the reference for tests)."""
        botocore = signers()
        request = botocore.AWSRequest(method=method, url=url, headers=headers)
        stamp = now.astimezone(UTC).strftime(SIGV4_TIMESTAMP)
        botocore.TimedQueryAuth(self.access_key, self.secret_key, self.region, expires_s, stamp).add_auth(request)
        return request.url

    def verify_query(self, method: str, host: str, raw_path: str, raw_query: str, headers, now: datetime) -> Verified:
        """Check a presigned request; raises the S3 error AWS would answer with."""
        botocore = signers()

        pairs = _query_pairs(raw_query)
        params = {unquote(k): unquote(v) for k, v in pairs}
        missing = [p for p in QUERY_AUTH_PARAMS if p not in params]
        if missing:
            raise ApiError(errors.AUTH_QUERY_INVALID, f"Query-string authentication requires {', '.join(missing)}.")
        if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise ApiError(errors.AUTH_QUERY_INVALID, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
        access_key, signed_at = self._check_credential(params["X-Amz-Credential"], params["X-Amz-Date"])
        try:
            expires_s = int(params["X-Amz-Expires"])
        except ValueError:
            raise ApiError(errors.AUTH_QUERY_INVALID, "X-Amz-Expires should be a number") from None
        if not 1 <= expires_s <= MAX_EXPIRES_S:
            raise ApiError(errors.AUTH_QUERY_INVALID, f"X-Amz-Expires must be between 1 and {MAX_EXPIRES_S} seconds")
        signed_names = params["X-Amz-SignedHeaders"].split(";")
        if "host" not in signed_names:
            raise ApiError(errors.AUTH_QUERY_INVALID, "X-Amz-SignedHeaders must include host")
        unsigned_query = "&".join(f"{k}={v}" for k, v in pairs if unquote(k) != "X-Amz-Signature")
        request = botocore.AWSRequest(
            method=method,
            url=f"http://{host}{raw_path}?{unsigned_query}",
            headers=self._signed_headers(headers, host, signed_names),
        )
        secret = self._secrets[access_key]
        auth = botocore.TimedQueryAuth(access_key, secret, self.region, expires_s, params["X-Amz-Date"])
        self._compare(access_key, auth.signature_for(request), params["X-Amz-Signature"])
        expires_at = signed_at + timedelta(seconds=expires_s)
        if now >= expires_at:
            raise ApiError(
                errors.REQUEST_EXPIRED,
                extra={
                    "X-Amz-Expires": expires_s,
                    "Expires": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ServerTime": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
        return Verified(access_key, signed_at, expires_at)

    def verify_header(self, method: str, host: str, raw_path: str, raw_query: str, headers) -> Verified:
        """Check an `Authorization: AWS4-HMAC-SHA256 …` request, as boto3 sends for reads."""
        botocore = signers()

        value = headers.get("Authorization", "")
        algorithm, _, rest = value.partition(" ")
        fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
        if algorithm != "AWS4-HMAC-SHA256" or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
            raise ApiError(
                errors.ACCESS_DENIED,
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
                code="InvalidRequest",
                status=400,
            )
        stamp = headers.get("X-Amz-Date", "")
        access_key, signed_at = self._check_credential(fields["Credential"], stamp)
        signed_names = fields["SignedHeaders"].split(";")
        request = botocore.AWSRequest(
            method=method,
            url=f"http://{host}{raw_path}" + (f"?{raw_query}" if raw_query else ""),
            headers=self._signed_headers(headers, host, signed_names),
        )
        auth = botocore.TimedHeaderAuth(access_key, self._secrets[access_key], self.region)
        self._compare(access_key, auth.signature_at(request, stamp), fields["Signature"])
        return Verified(access_key, signed_at, None)

    def _check_credential(self, credential: str, stamp: str) -> tuple[str, datetime]:
        parts = credential.split("/")
        if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request":
            raise ApiError(errors.AUTH_QUERY_INVALID, "Error parsing the X-Amz-Credential parameter.")
        if parts[0] not in self._secrets:
            raise ApiError(
                errors.ACCESS_DENIED,
                "The AWS Access Key Id you provided does not exist in our records.",
                code="InvalidAccessKeyId",
                extra={"AWSAccessKeyId": parts[0]},
            )
        if parts[2] != self.region:
            raise ApiError(
                errors.AUTH_QUERY_INVALID,
                f"Error parsing the X-Amz-Credential parameter; the region '{parts[2]}' is wrong; "
                f"expecting '{self.region}'",
                extra={"Region": self.region},
            )
        try:
            signed_at = _parse_time(stamp)
        except ValueError:
            raise ApiError(
                errors.AUTH_QUERY_INVALID, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
            ) from None
        if parts[1] != stamp[:8]:
            raise ApiError(errors.AUTH_QUERY_INVALID, "the date in X-Amz-Credential does not match X-Amz-Date")
        return parts[0], signed_at

    @staticmethod
    def _signed_headers(headers, host: str, names: list[str]) -> dict[str, str]:
        """The values of the signed headers as received (a missing one signs as empty)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        return {name: host if name == "host" else lowered.get(name, "") for name in names}

    def _compare(self, access_key: str, expected: Computed, provided: str) -> None:
        """As S3 does, a mismatch shows the canonical request and string to sign the server used, so a
        client can see which header (often Content-Type) differs from what it signed."""
        if not hmac.compare_digest(expected.signature.encode(), provided.encode()):
            raise ApiError(
                errors.SIGNATURE_MISMATCH,
                extra={
                    "AWSAccessKeyId": access_key,
                    "StringToSign": expected.string_to_sign,
                    "SignatureProvided": provided,
                    "StringToSignBytes": " ".join(f"{b:02x}" for b in expected.string_to_sign.encode()),
                    "CanonicalRequest": expected.canonical_request,
                    "CanonicalRequestBytes": " ".join(f"{b:02x}" for b in expected.canonical_request.encode()),
                },
            )

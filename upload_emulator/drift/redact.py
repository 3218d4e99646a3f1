"""Secrets out of a recording before anything is written: a credential becomes a fingerprint.

A fingerprint (`redacted:` and 12 hex digits of the secret's SHA-256) keeps distinct keys
distinct, so `verify` can map each to a fixture key, and says nothing of the key itself.
Redacted: credential headers (the scheme word of `Authorization` is kept), JSON fields that
hold secrets (`key`, `secret`, `token`, …), any value equal to a credential the request sent,
and the signature and credential of every presigned URL in a header or a body.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PREFIX = "redacted:"
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "cookie", "set-cookie", "x-emulator-token", "proxy-authorization"}
SECRET_FIELDS = {
    "key",
    "secret",
    "token",
    "apikey",
    "api_key",
    "accesstoken",
    "access_token",
    "refreshtoken",
    "password",
}
SIGNING_PARAMS = {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid"}
_URL = re.compile(r"https?://[^\s\"'<>]+")


def fingerprint(secret: str) -> str:
    return PREFIX + hashlib.sha256(secret.encode()).hexdigest()[:12]


def credential_of(name: str, value: str) -> str:
    """The secret part of a credential header (`Bearer abc` → `abc`)."""
    _scheme, _, rest = value.partition(" ")
    return rest.strip() if name.lower() in ("authorization", "proxy-authorization") and rest else value.strip()


def header_value(name: str, value: str) -> str:
    if name.lower() not in CREDENTIAL_HEADERS:
        return url_in(value)
    scheme, _, rest = value.partition(" ")
    if name.lower() in ("authorization", "proxy-authorization") and rest:
        return f"{scheme} {fingerprint(rest.strip())}"
    return fingerprint(value.strip())


def url_in(text: str) -> str:
    """`text` with each URL's signing parameters replaced."""
    return _URL.sub(lambda m: _unsigned(m.group(0)), text)


def _unsigned(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(k, "redacted" if k.lower() in SIGNING_PARAMS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="/:*")))


def body(value: Any, secrets: set[str]) -> Any:
    """A JSON value with every secret field, sent credential and URL signature redacted."""
    if isinstance(value, dict):
        return {
            k: fingerprint(v) if isinstance(v, str) and k.lower() in SECRET_FIELDS else body(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [body(v, secrets) for v in value]
    if isinstance(value, str):
        return fingerprint(value) if value in secrets else url_in(value)
    return value


def text(raw: str, secrets: set[str]) -> str:
    """A non-JSON body: sent credentials and URL signatures redacted."""
    for secret in secrets:
        raw = raw.replace(secret, fingerprint(secret))
    return url_in(raw)

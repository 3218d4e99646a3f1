"""CORS for the vendor APIs and the S3 endpoint, so a web page on another origin can run the
whole flow (mint, PUT to the presigned URL, redeem) as a browser would against the vendors.

Loopback origins are allowed by default (a front end's dev server); `--cors-origin` names
others. The control plane under /_emulator/ never answers other origins: its own page,
the journal viewer, is same-origin.
"""

from __future__ import annotations

import re

LOOPBACK_ORIGIN = re.compile(r"^https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
# What a client's code reads from a response: S3's ETag, each vendor's ids, limits and replays.
EXPOSED = ", ".join(
    (
        "ETag",
        "Location",
        "Retry-After",
        "X-Request-Id",
        "x-amz-request-id",
        "x-amz-id-2",
        "RateLimit",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "RateLimit-Policy",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Idempotent-Replayed",
        "Idempotency-Replayed",
        "Scripe-Api-Version",
    )
)
MAX_AGE_S = "600"


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    if not origin:
        return False
    if not allowed:
        return bool(LOOPBACK_ORIGIN.match(origin))
    return "*" in allowed or origin.rstrip("/") in {a.rstrip("/") for a in allowed}


def is_preflight(method: str, headers) -> bool:
    return method == "OPTIONS" and "Access-Control-Request-Method" in headers


def preflight_headers(origin: str, headers) -> dict[str, str]:
    """An allowed preflight's answer: the origin, every method we serve, the headers it asked for."""
    asked = headers.get("Access-Control-Request-Headers", "")
    found = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": METHODS,
        "Access-Control-Max-Age": MAX_AGE_S,
        "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }
    if asked:
        found["Access-Control-Allow-Headers"] = asked
    return found


def response_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED, "Vary": "Origin"}

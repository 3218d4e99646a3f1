"""Who may call what: CORS for the vendor APIs and /s3, the control plane's local-only rules, and origins.

- CORS: a web page on another origin may run the whole flow (mint, PUT to the presigned
  URL, redeem) as a browser would against the vendors. Loopback origins are allowed by
  default (a front end's dev server); `--cors-origin` names others. The control plane under
  /_emulator/ never answers other origins: its own page, the journal viewer, is same-origin.
- Hosts: every surface refuses a `Host` that is not a loopback name, the bound address or
  one named with --allowed-host (a page on another site whose name resolves to 127.0.0.1),
  in that surface's own shape; a URL is never minted for a refused Host.
- Local only: like Jupyter's and Docker's local APIs were not at first, the control plane
  also refuses a state-changing call from a page on another origin (CSRF). With --control-token it also
  wants the token on every call.
- Origins: a request a browser sends for a page on another origin carries that page's
  `Origin`; the control plane trusts local tools (curl's `-d` sends a form content type,
  and is still JSON), and gives a foreign page no such leniency.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import urlsplit

from upload_emulator.core.settings import Settings
from upload_emulator.services.callbacks import is_loopback_host

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


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_refusal(settings: Settings, host: str) -> str | None:
    """Why a `Host` is not this emulator's (None when it is): every surface answers only a
    loopback name, the bound address, or a name given with --allowed-host (`*`: any), so a
    page whose name was rebound to 127.0.0.1 cannot use the fixture keys, and no URL is ever
    minted for a host the user did not choose."""
    name = _hostname(host).lower()
    allowed = {settings.host.lower(), *(h.lower() for h in settings.allowed_hosts)}
    if is_loopback_host(name) or name in allowed or "*" in allowed:
        return None
    return f"Host {host!r} is not this emulator's; add --allowed-host {name} to allow it."


def refusal(settings: Settings, method: str, headers, host: str) -> str | None:
    """Why a control-plane request is refused, or None when it may go on."""
    why = host_refusal(settings, host)
    if why is not None:
        return why
    if method in STATE_CHANGING and is_foreign_origin(headers, host):
        return f"A page on {headers.get('Origin')} may not change the emulator's state."
    if settings.control_token:
        sent = headers.get("X-Emulator-Token") or headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), settings.control_token.encode()):
            return "The control API needs its token (X-Emulator-Token or Authorization: Bearer)."
    return None


# host[:port] as a URL can carry it: a name, an IPv4 address or a bracketed IPv6 address.
HOST = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?")


def is_valid_host(host: str | None) -> bool:
    """Whether a Host header can make a URL (presigned and public URLs are built from it)."""
    return bool(HOST.fullmatch(host or ""))


def is_foreign_origin(headers, host: str) -> bool:
    """True when the request names an `Origin` other than the host it was sent to."""
    origin = headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()

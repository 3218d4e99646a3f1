"""Where a request comes from: a web page on another origin, or a local tool like curl.

The control plane trusts local tools (curl's `-d` sends a form content type, and is still
JSON); a request a browser sends for a page on another origin carries that page's
`Origin`, and gets no such leniency.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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

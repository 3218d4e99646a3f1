"""Where a request comes from: a web page on another origin, or a local tool like curl.

The control plane trusts local tools (curl's `-d` sends a form content type, and is still
JSON); a request a browser sends for a page on another origin carries that page's
`Origin`, and gets no such leniency.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def is_foreign_origin(headers, host: str) -> bool:
    """True when the request names an `Origin` other than the host it was sent to."""
    origin = headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()

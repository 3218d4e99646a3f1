"""The whole contract between the HTTP server and the application: three WSGI environ keys.

The server tells the application two things about a request before it runs, and the
application asks one thing of the server; nothing else crosses between them.

- `REFUSED` (server → app): the request found no room in its lane (`lanes.py`). Its body
  is unread; the application answers at once with its surface's 503.
- `REJECTED` (server → app): the request is malformed at the HTTP level (its framing, its
  head, a deadline), as a `Rejection`. The server framed no body and will close the
  connection after the answer; the application answers in its surface's own shape
  (a vendor's error envelope, S3's XML) and journals it like any other request.
- `CUT` (app → server): a callable that makes the server drop the connection instead of
  sending the answer (the S3 connection-cut fault); a client sees its upload cut off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REFUSED = "upload_emulator.refused"
REJECTED = "upload_emulator.rejected"
CUT = "upload_emulator.cut"


@dataclass(frozen=True)
class Rejection:
    """Why the server would not frame a request: an HTTP status and a sentence for the client."""

    status: int
    reason: str


def refused(environ: dict[str, Any]) -> bool:
    """True when the server found no room for this request in its lane."""
    return bool(environ.get(REFUSED))


def rejection(environ: dict[str, Any]) -> Rejection | None:
    """The server's reason for refusing to frame this request, if it had one."""
    found = environ.get(REJECTED)
    return found if isinstance(found, Rejection) else None


def cut_connection(environ: dict[str, Any]) -> None:
    """Ask the server to drop this request's connection without an answer (where it can)."""
    cut: Callable[[], None] | None = environ.get(CUT)
    if cut is not None:
        cut()

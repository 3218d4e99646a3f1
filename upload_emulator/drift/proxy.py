"""`upload-emulator record`: a reverse proxy in front of a vendor's real API that records.

A client points at the proxy as at single-vendor mode (the vendor's own paths at the root).
Each request goes unchanged to the upstream (its Host is the upstream's), the answer comes
back unchanged, and the exchange, redacted, is appended to the recording. Presigned PUTs go
to the vendor's storage directly, as in real use, and never pass here. An upstream that is
down, or answers what is not HTTP, gets the client a 502 in the vendor's own error shape, is
not recorded, and is said on stderr.
"""

from __future__ import annotations

import http.client
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from threading import Lock
from typing import Any
from urllib.parse import urlsplit

from upload_emulator.api.call import new_request_id
from upload_emulator.core import errors
from upload_emulator.core.clock import Clock
from upload_emulator.core.dialects import render
from upload_emulator.core.errors import ApiError
from upload_emulator.core.profiles import VendorProfile
from upload_emulator.drift import recording, redact

log = logging.getLogger("upload_emulator.record")

# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's: never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
TIMEOUT_S = 60


class Recorder:
    """The proxy's WSGI application."""

    def __init__(self, vendor: str, profile: VendorProfile, upstream: str, out: Path) -> None:
        target = urlsplit(upstream)
        if target.scheme not in ("http", "https") or not target.hostname:
            raise ValueError(f"--upstream {upstream!r} is not an http(s) URL")
        self.vendor, self.profile, self.upstream, self.out = vendor, profile, target, out
        self.base = target.path.rstrip("/")
        self.log = recording.new_log(vendor, f"{target.scheme}://{target.netloc}{self.base}")
        self._lock = Lock()
        self.clock = Clock()  # the wall clock: a recording's times are the vendor's
        recording.save(out, self.log)  # the file exists, and verifies (as empty), from the start

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        target = environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING") and "?" not in target:
            target += "?" + environ["QUERY_STRING"]
        headers = _request_headers(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        started, clock = self.clock.now(), time.perf_counter()
        try:
            status, reason, answer_headers, answer = self._forward(method, self.base + target, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            why = f"upstream {self.upstream.netloc} did not answer {method} {target}: {exc or type(exc).__name__}"
            print(f"upload-emulator record: {why}; nothing recorded", file=sys.stderr, flush=True)
            rendered = render(
                ApiError(errors.UPSTREAM, why, status=502), self.profile, new_request_id(self.profile.request_id_prefix)
            )
            start_response(f"{rendered.status} Bad Gateway", [("Content-Type", rendered.content_type)])
            return [rendered.body]
        self._record(
            started,
            (time.perf_counter() - clock) * 1000,
            method,
            target,
            headers,
            body,
            status,
            reason,
            answer_headers,
            answer,
        )
        start_response(f"{status} {reason}", [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP])
        return [answer]

    def _forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        kind = http.client.HTTPSConnection if self.upstream.scheme == "https" else http.client.HTTPConnection
        connection = kind(self.upstream.hostname or "", self.upstream.port, timeout=TIMEOUT_S)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", self.upstream.netloc)
            for name, value in headers:
                connection.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def _record(self, started, elapsed_ms, method, target, headers, body, status, reason, answer_headers, answer):
        sent = {redact.credential_of(k, v) for k, v in headers if k.lower() in redact.CREDENTIAL_HEADERS}
        req_text, req_mime = _text(body, _header(headers, "content-type"), sent)
        resp_text, resp_mime = _text(answer, _header(answer_headers, "content-type"), sent)
        entry = recording.entry(
            started,
            elapsed_ms,
            (method, redact.url_in(target), [(k, redact.header_value(k, v)) for k, v in headers], req_text, req_mime),
            (
                status,
                reason,
                [(k, redact.header_value(k, v)) for k, v in answer_headers if k.lower() not in HOP_BY_HOP],
                resp_text,
                resp_mime,
            ),
        )
        with self._lock:
            recording.append(self.out, self.log, entry)


def _request_headers(environ: dict) -> list[tuple[str, str]]:
    found = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_HOST",):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                found.append((name, value))
    if environ.get("CONTENT_TYPE"):
        found.append(("Content-Type", environ["CONTENT_TYPE"]))
    return found


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _text(raw: bytes, mime: str, secrets: set[str]) -> tuple[Any, str]:
    """A body as HAR text, redacted: JSON re-serialised with its secrets replaced, else as text."""
    if not raw:
        return ("" if mime else None), mime
    try:
        decoded = raw.decode()
    except UnicodeDecodeError:
        return f"({len(raw)} bytes, not text: not recorded)", mime
    if "json" in mime:
        try:
            return json.dumps(redact.body(json.loads(decoded), secrets)), mime
        except ValueError:
            pass
    return redact.text(decoded, secrets), mime

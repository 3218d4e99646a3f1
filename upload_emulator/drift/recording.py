"""A recording is a HAR 1.2 file: what browsers' developer tools, Redocly's drift check, Prism
and most HTTP tooling read, with one exchange per entry.

The emulator's own facts ride in `log._upload_emulator` (HAR's custom fields start with `_`):
the vendor recorded, the format, and the SHA-256 of the entries, so a file that was cut short
or edited after recording is refused (`Unusable`) rather than half-verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from upload_emulator.core.version import __version__

FORMAT = 1
OURS = "_upload_emulator"


class Unusable(ValueError):
    """The recording cannot be verified; the message says why and where."""


def digest(entries: list[dict]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def new_log(vendor: str, upstream: str) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "upload-emulator", "version": __version__},
            "entries": [],
            OURS: {"format": FORMAT, "vendor": vendor, "upstream": upstream, "sha256": digest([])},
        }
    }


def pairs(headers) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers]


def entry(
    started: datetime,
    elapsed_ms: float,
    request: tuple[str, str, list[tuple[str, str]], str | None, str | None],
    response: tuple[int, str, list[tuple[str, str]], str, str],
) -> dict[str, Any]:
    """One exchange. `request`: method, URL, headers, body text, its MIME type; `response`:
    status, reason, headers, body text, its MIME type (all already redacted)."""
    method, url, req_headers, req_body, req_mime = request
    status, reason, resp_headers, resp_body, resp_mime = response
    recorded: dict[str, Any] = {
        "startedDateTime": started.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "time": round(elapsed_ms, 3),
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": pairs(req_headers),
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(req_body.encode()) if req_body else 0,
        },
        "response": {
            "status": status,
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": pairs(resp_headers),
            "content": {"size": len(resp_body.encode()), "mimeType": resp_mime, "text": resp_body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(resp_body.encode()),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(elapsed_ms, 3), "receive": 0},
    }
    if req_body is not None:
        recorded["request"]["postData"] = {"mimeType": req_mime or "", "text": req_body}
    return recorded


def append(path: Path, log: dict[str, Any], recorded: dict[str, Any]) -> None:
    """Add an exchange and write the whole file again."""
    entries = log["log"]["entries"]
    entries.append(recorded)
    log["log"][OURS]["sha256"] = digest(entries)
    save(path, log)


def save(path: Path, log: dict[str, Any]) -> None:
    """Write the recording atomically: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(log, out, indent=1)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Recording:
    vendor: str
    entries: list[dict[str, Any]]


def load(path: Path, vendors: list[str]) -> Recording:
    """The recording at `path`, or Unusable with the reason and where."""
    try:
        raw = path.read_text()
    except OSError as exc:
        raise Unusable(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Unusable(
            f"{path}:{exc.lineno}:{exc.colno}: not a whole HAR file ({exc.msg}); was it cut short?"
        ) from None
    log: Any = document.get("log") if isinstance(document, dict) else None
    ours = log.get(OURS) if isinstance(log, dict) else None
    if not isinstance(log, dict) or not isinstance(ours, dict) or not isinstance(log.get("entries"), list):
        raise Unusable(f"{path}: not a recording made by `upload-emulator record` (no log.{OURS})")
    if ours.get("format") != FORMAT:
        raise Unusable(f"{path}: recording format {ours.get('format')!r}; this emulator reads format {FORMAT}")
    if ours.get("vendor") not in vendors:
        raise Unusable(f"{path}: log.{OURS}.vendor is {ours.get('vendor')!r}; installed: {', '.join(vendors)}")
    if ours.get("sha256") != digest(log["entries"]):
        raise Unusable(f"{path}: its entries were changed after recording (log.{OURS}.sha256 does not match)")
    for n, recorded in enumerate(log["entries"]):
        try:
            recorded["request"]["method"], recorded["request"]["url"], recorded["response"]["status"]
        except (KeyError, TypeError):
            raise Unusable(
                f"{path}: entry {n} is not a HAR entry (request.method, request.url, response.status)"
            ) from None
    return Recording(ours["vendor"], log["entries"])

"""The journal entry and the log line for a spec-routed request: what a test or a person reads
afterwards about a call, with every credential redacted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

from upload_emulator.api.call import Call, Reply
from upload_emulator.services.auth import redact
from upload_emulator.services.emulator import Emulator

log = logging.getLogger("upload_emulator.requests")

BODY_SAMPLE_BYTES = 2048
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "cookie", "proxy-authorization"}


def _redacted_headers(headers: EnvironHeaders, carriers: set[str]) -> dict[str, str]:
    """The request's headers as the journal shows them: every credential redacted."""
    shown = {}
    for name, value in headers.items():
        if name.lower() in carriers:
            word, _, secret = value.partition(" ")
            value = f"{word} {redact(secret)}" if secret else redact(value)
        shown[name] = value
    return shown


def _head(data: Any) -> bytes | None:
    """The first BODY_SAMPLE_BYTES of a body, kept undecoded until the journal is read."""
    return data[:BODY_SAMPLE_BYTES] if isinstance(data, bytes) and data else None


def _sample(head: bytes | None) -> str | None:
    """A body's head as text, for the viewer."""
    return head.decode("utf-8", "replace") if head else None


def note(
    emu: Emulator,
    request: Request,
    *,
    vendor: str,
    operation: str,
    status: int,
    code: str | None,
    request_id: str,
    started: float,
    journal: bool = True,
    details: Callable[[], dict[str, Any]] | None = None,
    **extra: Any,
) -> None:
    """The one place a request becomes a log line and (unless `journal` is false) a journal entry:
    spec-routed calls, the S3 endpoint, preflights, the index and routing errors all come here.
    `details` gives the entry's costly fields when somebody reads it, not on the request path."""
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if log.isEnabledFor(logging.INFO):  # the fields are built only for a line that is written
        fields = {
            "vendor": vendor,
            "operationId": operation,
            "status": status,
            "errorCode": code or None,
            "durationMs": duration_ms,
            "requestId": request_id,
        }
        log.info("%s %s %s %s %.1fms %s", vendor, operation, status, code or "-", duration_ms, request_id, extra=fields)
    if not journal:
        return
    # `Journal.record`'s entry, written out here: every request pays for it (journal.FIELDS' order, then the rest)
    entry = {
        "at": emu.clock.now(),  # written out when read
        "requestId": request_id,
        "vendor": vendor,
        "operationId": operation,
        "method": request.method,
        "path": request.path,
        "status": status,
        "errorCode": code or None,
        "durationMs": duration_ms,
        "keyId": extra.pop("keyId", None),
        "key": extra.pop("key", None),
        "workspace": extra.pop("workspace", None),
        "requestBodyBytes": request.content_length or 0,
        **extra,
    }
    emu.journal.add(entry, details)


def record(call: Call, reply: Reply, body: Any = None) -> None:
    """A spec-routed call's entry: who called (redacted), what was sent, and an error's answer.

    The headers, redacted, and the body samples are worked out when the journal is read: a
    snapshot of the request's headers is all the request path pays for."""
    journaled = not call.vendor.is_control_plane  # the control plane's own calls would only crowd it
    found_key = call.found_key
    if found_key is not None:
        key = redact(found_key.secret)
    else:
        key = redact(call.request.headers.get("Authorization", "").partition(" ")[2])
    details = None
    if journaled:
        environ = call.request.environ
        # the first letter first: most keys are not headers (an empty key's "" is "in" too)
        sent = {k: v for k, v in environ.items() if k[:1] in "HC" and (k.startswith("HTTP_") or k in _CONTENT_KEYS)}
        spec = call.vendor.spec
        journal_headers = call.profile.journal_headers
        request_head, response_head = _head(call.raw_body), _head(body) if reply.status >= 400 else None

        def details() -> dict[str, Any]:
            headers = EnvironHeaders(sent)
            carriers = CREDENTIAL_HEADERS | {h.lower() for h in spec.credential_headers}
            return {
                "requestHeaders": _redacted_headers(headers, carriers),
                "requestBody": _sample(request_head),
                # Error bodies only: a success body may carry a secret (a new API key), an error never does.
                "responseBody": _sample(response_head),
                **{f"header:{name}": headers[name] for name in journal_headers if name in headers},
            }

    note(
        call.emu,
        call.request,
        vendor=call.vendor.name,
        operation=call.op.operation_id,
        status=reply.status,
        code=reply.code,
        request_id=call.request_id,
        started=call.started,
        journal=journaled,
        details=details,
        keyId=found_key.id if found_key else None,
        key=key or None,
        workspace=call.found_workspace.id if call.found_workspace else None,
        replayed=call.replayed,
        fault=call.fault,
    )


_CONTENT_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})

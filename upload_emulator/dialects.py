"""Render an `ApiError` in a vendor's own error shape: the only place error bodies are built.

Each dialect is a small function from (error, mapping, request id, profile) to a JSON-able
body (or XML for S3). Adding a vendor with a new shape means adding one function here.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

from upload_emulator.errors import ApiError
from upload_emulator.world import ErrorMapping, VendorProfile


@dataclass
class Rendered:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    code: str = ""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _scripe(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> Any:
    body: dict[str, Any] = {"code": m.code, "message": err.message, "request_id": request_id}
    if profile is not None and profile.docs_url:
        body["docs_url"] = profile.docs_url.format(code=m.code)
    details = dict(err.extra)
    if err.field:
        details["param"] = err.field
    if details:
        body["details"] = details
    return {"error": body}


def _problem(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> Any:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _phrase(m.status),
        "status": m.status,
        "detail": err.message,
        "code": m.code,
    }
    if err.field:
        body["errors"] = [{"field": err.field, "message": err.message}]
    body.update(err.extra)
    return body


def _ctxfy(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> Any:
    body: dict[str, Any] = {"error": _phrase(m.status), "message": err.message, "code": m.status}
    if err.field:
        body["details"] = [{"field": err.field, "message": err.message}]
    if m.status >= 500:
        body["requestId"] = request_id
    return body


def _adclear(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> Any:
    error: dict[str, Any] = {"code": m.code, "message": err.message}
    if err.field:
        error["details"] = [{"type": "field_error", "field": err.field, "message": err.message}]
    return {"error": error, "correlationId": err.extra.get("correlationId", str(uuid.uuid4()))}


JSON_DIALECTS: dict[str, tuple[Callable[..., Any], str]] = {
    "scripe": (_scripe, "application/json"),
    "problem+json": (_problem, "application/problem+json"),
    "ctxfy": (_ctxfy, "application/json"),
    "adclear": (_adclear, "application/json"),
}


def render(err: ApiError, profile: VendorProfile | None, request_id: str, dialect: str | None = None) -> Rendered:
    """Render `err` for `profile` (or, with no profile, in `dialect` with the kind's defaults)."""
    name = dialect or (profile.dialect if profile else "problem+json")
    mapping = profile.error_for(err.kind) if profile else ErrorMapping(err.kind.status, err.kind.name)
    if err.code or err.status:
        mapping = ErrorMapping(err.status or mapping.status, err.code or mapping.code)
    build, content_type = JSON_DIALECTS[name]
    body = json.dumps(build(err, mapping, request_id, profile)).encode()
    return Rendered(mapping.status, body, content_type, dict(err.headers), mapping.code)


# --- S3 -----------------------------------------------------------------------------
S3_CODES = {
    "SIGNATURE_MISMATCH": "SignatureDoesNotMatch",
    "REQUEST_EXPIRED": "AccessDenied",
    "ACCESS_DENIED": "AccessDenied",
    "AUTH_QUERY_INVALID": "AuthorizationQueryParametersError",
    "ENTITY_TOO_LARGE": "EntityTooLarge",
    "INCOMPLETE_BODY": "IncompleteBody",
    "MISSING_CONTENT_LENGTH": "MissingContentLength",
    "NO_SUCH_KEY": "NoSuchKey",
    "INVALID_RANGE": "InvalidRange",
    "BAD_DIGEST": "BadDigest",
    "INVALID_DIGEST": "InvalidDigest",
    "NO_SUCH_BUCKET": "NoSuchBucket",
    "S3_METHOD_NOT_ALLOWED": "MethodNotAllowed",
    "INTERNAL": "InternalError",
    "UNAVAILABLE": "ServiceUnavailable",
}


# Characters XML 1.0 forbids even when escaped (controls, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: object) -> str:
    """Escaped text that stays well-formed whatever a client sent (forbidden characters become U+FFFD)."""
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def render_s3(err: ApiError, request_id: str, override: ErrorMapping | None = None) -> Rendered:
    """S3's `<Error><Code/><Message/>…<RequestId/><HostId/></Error>`, with any sub-elements."""
    status = err.status or (override.status if override else err.kind.status)
    code = err.code or (override.code if override else S3_CODES.get(err.kind.name, "InternalError"))
    parts = [f"<Code>{_xml_text(code)}</Code>", f"<Message>{_xml_text(err.message)}</Message>"]
    parts += [f"<{name}>{_xml_text(value)}</{name}>" for name, value in err.extra.items()]
    parts += [f"<RequestId>{_xml_text(request_id)}</RequestId>", "<HostId>upload-emulator</HostId>"]
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return Rendered(status, body.encode(), "application/xml", dict(err.headers), code)

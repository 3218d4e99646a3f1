"""Render an `ApiError` in a vendor's own error shape: the only place error bodies are built.

Each dialect is a small function from (error, mapping, request id, profile) to a JSON-able
body (or XML for S3). A vendor with a shape of its own declares it in its module
(`DIALECTS`); fixtures name a dialect, and `world` refuses an unknown name at start-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol
from xml.sax.saxutils import escape

from upload_emulator.core.errors import ApiError, ErrorKind, ErrorMapping


class Speaker(Protocol):
    """What rendering reads of a vendor's profile (`profiles.VendorProfile` has it)."""

    @property
    def dialect(self) -> str: ...
    @property
    def shape(self) -> Dialect | None: ...
    def error_for(self, kind: ErrorKind) -> ErrorMapping: ...


@dataclass
class Rendered:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    code: str = ""


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _problem(err: ApiError, m: ErrorMapping, request_id: str, profile: Any) -> Any:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": reason_phrase(m.status),
        "status": m.status,
        "detail": err.message,
        "code": m.code,
    }
    if err.field:
        body["errors"] = [{"field": err.field, "message": err.message}]
    body.update(err.extra)
    return body


@dataclass(frozen=True)
class Dialect:
    """How one vendor family shapes an error: `build(err, mapping, request_id, profile)` → JSON-able body."""

    build: Callable[[ApiError, ErrorMapping, str, Any], Any]
    content_type: str = "application/json"


# Shapes more than one vendor could share live here; a vendor's own shape lives in its
# module's `DIALECTS` (upload_emulator/vendors/<name>.py), which the composition root hands
# to `profiles.load_world`, so each vendor's profile carries its own (`shape`).
SHARED = {"problem+json": Dialect(_problem, "application/problem+json")}


def field_details(err: ApiError) -> list[tuple[str, str]]:
    """(field, message) for every offending field the error names (a validation may find several)."""
    if err.field_errors:
        return list(err.field_errors)
    return [(err.field, err.message)] if err.field else []


def render(err: ApiError, profile: Speaker | None, request_id: str, dialect: str | None = None) -> Rendered:
    """Render `err` for `profile` (or, with no profile, in the shared `dialect` with the kind's defaults)."""
    name = dialect or (profile.dialect if profile else "problem+json")
    mapping = profile.error_for(err.kind) if profile else ErrorMapping(err.kind.status, err.kind.name)
    if err.code or err.status:
        mapping = ErrorMapping(err.status or mapping.status, err.code or mapping.code)
    shape = (profile.shape if profile is not None and dialect is None else None) or SHARED[name]
    body = json.dumps(shape.build(err, mapping, request_id, profile)).encode()
    return Rendered(mapping.status, body, shape.content_type, dict(err.headers), mapping.code)


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
    "CONTENT_SHA256_MISMATCH": "XAmzContentSHA256Mismatch",
    "INVALID_ARGUMENT": "InvalidArgument",
    "NO_SUCH_BUCKET": "NoSuchBucket",
    "S3_METHOD_NOT_ALLOWED": "MethodNotAllowed",
    "CORS_FORBIDDEN": "AccessForbidden",
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

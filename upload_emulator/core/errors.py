"""One exception type and one catalogue of neutral error kinds.

Code below a handler raises `ApiError(errors.KEY_REVOKED, "…")`. Each vendor profile maps
a kind to that vendor's status and code (fixtures/<vendor>.yaml, `errors:`), and the
vendor's dialect renders the body; nothing else builds an error body. A kind's own status
is the fallback when a profile does not map it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    name: str
    status: int
    message: str


def _kind(name: str, status: int, message: str) -> ErrorKind:
    return ErrorKind(name, status, message)


# --- the request itself -------------------------------------------------------------
MALFORMED_REQUEST = _kind("MALFORMED_REQUEST", 400, "The request is malformed.")
UNPROCESSABLE = _kind("UNPROCESSABLE", 422, "The request breaks a business rule.")
PAYLOAD_TOO_LARGE = _kind("PAYLOAD_TOO_LARGE", 413, "The request body is too large.")
VERSION_UNSUPPORTED = _kind("VERSION_UNSUPPORTED", 400, "The API version is not supported.")
NOT_FOUND = _kind("NOT_FOUND", 404, "The resource does not exist.")
METHOD_NOT_ALLOWED = _kind("METHOD_NOT_ALLOWED", 405, "The method is not allowed here.")
# --- who is calling -----------------------------------------------------------------
UNAUTHENTICATED = _kind("UNAUTHENTICATED", 401, "Authentication is required.")
INVALID_CREDENTIALS = _kind("INVALID_CREDENTIALS", 401, "The credentials are not valid.")
KEY_REVOKED = _kind("KEY_REVOKED", 401, "The key has been revoked.")
KEY_EXPIRED = _kind("KEY_EXPIRED", 401, "The key has expired.")
SCOPE_MISSING = _kind("SCOPE_MISSING", 403, "The credentials lack a required scope.")
WORKSPACE_REQUIRED = _kind("WORKSPACE_REQUIRED", 400, "A workspace must be named for this credential.")
WORKSPACE_FORBIDDEN = _kind("WORKSPACE_FORBIDDEN", 403, "The caller is not a member of that workspace.")
CONTROL_FORBIDDEN = _kind("CONTROL_FORBIDDEN", 403, "The control API only answers local callers.")
PLAN_NOT_ELIGIBLE = _kind("PLAN_NOT_ELIGIBLE", 403, "The plan does not include API access.")
# --- repeated or too many requests, or a resource in the wrong state -------------------
CONFLICT = _kind("CONFLICT", 409, "The resource is not in a state that allows this.")
IDEMPOTENCY_CONFLICT = _kind("IDEMPOTENCY_CONFLICT", 409, "The idempotency key was used with a different body.")
RATE_LIMITED = _kind("RATE_LIMITED", 429, "Too many requests.")
# --- the upload's own life ----------------------------------------------------------
UPLOAD_NOT_REDEEMABLE = _kind("UPLOAD_NOT_REDEEMABLE", 422, "The upload cannot be used.")
# --- the emulator or its "upstream" ---------------------------------------------------
INTERNAL = _kind("INTERNAL", 500, "An unexpected error occurred.")
UPSTREAM = _kind("UPSTREAM", 502, "An upstream service returned an error.")
UNAVAILABLE = _kind("UNAVAILABLE", 503, "The service is temporarily unavailable.")

# --- the S3 endpoint (rendered as S3 XML; codes are S3's own) -------------------------
SIGNATURE_MISMATCH = _kind(
    "SIGNATURE_MISMATCH",
    403,
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
)
REQUEST_EXPIRED = _kind("REQUEST_EXPIRED", 403, "Request has expired")
ACCESS_DENIED = _kind("ACCESS_DENIED", 403, "Access Denied")
AUTH_QUERY_INVALID = _kind("AUTH_QUERY_INVALID", 400, "Error parsing the X-Amz-Credential parameter.")
ENTITY_TOO_LARGE = _kind("ENTITY_TOO_LARGE", 400, "Your proposed upload exceeds the maximum allowed size")
INCOMPLETE_BODY = _kind(
    "INCOMPLETE_BODY", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."
)
MISSING_CONTENT_LENGTH = _kind("MISSING_CONTENT_LENGTH", 411, "You must provide the Content-Length HTTP header.")
NO_SUCH_KEY = _kind("NO_SUCH_KEY", 404, "The specified key does not exist.")
BAD_DIGEST = _kind("BAD_DIGEST", 400, "The Content-MD5 you specified did not match what we received.")
CONTENT_SHA256_MISMATCH = _kind(
    "CONTENT_SHA256_MISMATCH", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."
)
INVALID_ARGUMENT = _kind("INVALID_ARGUMENT", 400, "Invalid Argument")
INVALID_DIGEST = _kind("INVALID_DIGEST", 400, "The Content-MD5 you specified is not valid.")
INVALID_RANGE = _kind("INVALID_RANGE", 416, "The requested range is not satisfiable")
NO_SUCH_BUCKET = _kind("NO_SUCH_BUCKET", 404, "The specified bucket does not exist.")
CORS_FORBIDDEN = _kind(
    "CORS_FORBIDDEN",
    403,
    "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, "
    "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not allowed "
    "by the resource's CORS configuration (see --cors-origin).",
)
S3_METHOD_NOT_ALLOWED = _kind(
    "S3_METHOD_NOT_ALLOWED", 405, "The specified method is not allowed against this resource."
)


@dataclass(frozen=True)
class ErrorMapping:
    """What a vendor answers for a kind: its HTTP status and its own code (fixtures' `errors:`)."""

    status: int
    code: str


@dataclass
class ApiError(Exception):
    """An error on its way to the caller, in neutral terms.

    `kind` names the error, `detail` says what happened in this occurrence (and, where it
    helps, what to do next), `field` names the offending parameter, `extra` carries
    dialect-specific details (accepted versions, required scopes, S3 sub-elements), and
    `code` may force a vendor's own code where a handler knows it.
    """

    kind: ErrorKind
    detail: str | None = None
    field: str | None = None
    extra: dict[str, Any] = _field(default_factory=dict)
    headers: dict[str, str] = _field(default_factory=dict)
    code: str | None = None
    status: int | None = None
    # Every offending (field, message) when a check found several; `field` names the first.
    field_errors: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.kind.message)

    @property
    def message(self) -> str:
        return self.detail or self.kind.message

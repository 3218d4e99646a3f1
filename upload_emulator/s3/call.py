"""One S3 request's life on the emulator: its id, faults, lanes, auth, error and journal entry.

Every S3 operation starts with an `S3Call`: it answers a fault before the operation runs,
renders errors as S3 XML (restated by the upload's vendor where it says so), and journals
the answer. The auth helpers hold S3's rules for presigned and signed requests. A request
the server refused (its framing, a full lane) is answered by `answer_before_routing`.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote

from flask import Request, Response, current_app, request

from upload_emulator.api import journal_entry
from upload_emulator.blobs.sigv4 import QUERY_AUTH_PARAMS as AUTH_PARAMS
from upload_emulator.core import errors
from upload_emulator.core.dialects import render_s3
from upload_emulator.core.errors import ApiError
from upload_emulator.services.emulator import Emulator
from upload_emulator.services.faults import S3, S3_CODES_BY_STATUS
from upload_emulator.serving import contract

READ_CHUNK = 1024 * 1024
# An over-cap body up to this size is read and dropped before answering, so the client
# sees the error instead of a reset connection; past it the connection is closed.
DRAIN_LIMIT = 16 * 1024 * 1024
# S3's own codes for what the HTTP server refused to frame (`serving.contract.Rejection`).
FRAMING_CODES = {408: "RequestTimeout", 414: "InvalidURI", 431: "RequestHeaderSectionTooLarge", 501: "NotImplemented"}


def current_emulator() -> Emulator:
    return current_app.extensions["upload_emulator"]


def raw_target(req: Request) -> tuple[str, str]:
    """The path and query exactly as the client sent them (signatures cover the raw form)."""
    raw = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI")
    if raw:
        path, _, query = raw.partition("?")
        if path.startswith(("http://", "https://")):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        return path, query
    return quote(req.path, safe="/~"), req.query_string.decode("latin-1")


def drain(stream, limit: int) -> bool:
    """Read and drop the body of a request answered early; True when it all fit under `limit`.

    Only a body whose declared length fits is read (a client may be waiting for the answer
    before sending the rest); a larger one is left unread and the connection is closed.
    """
    declared = request.content_length
    if declared is None:
        return "Transfer-Encoding" not in request.headers  # no body at all, or a chunked one left unread
    if declared > limit:
        return False
    left = declared
    while left > 0:
        chunk = stream.read(min(READ_CHUNK, left))
        if not chunk:
            return False
        left -= len(chunk)
    return True


class S3Call:
    def __init__(self, emu: Emulator, operation: str) -> None:
        self.emu = emu
        self.operation = operation
        self.request_id = secrets.token_hex(8).upper()
        self.started = time.perf_counter()
        self.vendor: str | None = None
        self.fault: str | None = None
        self.signed_by: str | None = None  # the access key of a verified signature
        emu.scheduler.run_due(emu.clock.now())  # e.g. an object removed when its job finished

    def preempt(self) -> Response | None:
        """An answer before the operation runs: a matching fault, a delay, an S3 error, or (PUT)
        a connection cut mid-body (the server drops it: the client sees no answer at all)."""
        rule = self.emu.faults.take(S3, self.operation, request.path)
        if rule is None:
            return None
        self.fault = rule.id
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000)
        if rule.close_after_bytes is not None and request.method == "PUT":
            left = rule.close_after_bytes
            while left > 0 and (chunk := request.stream.read(min(READ_CHUNK, left))):
                left -= len(chunk)
            contract.cut_connection(request.environ)
            return self.finish(Response(b"", status=499), "ConnectionCut")
        if rule.status:
            code = rule.code or S3_CODES_BY_STATUS.get(rule.status, "InternalError")
            err = ApiError(
                errors.INTERNAL,
                f"Injected fault {rule.id}.",
                code=code,
                status=rule.status,
                headers={"X-Emulator-Reason": f"injected fault {rule.id}"},
            )
            return self.error(err, close=not drain(request.stream, DRAIN_LIMIT))
        return None

    def error(self, err: ApiError, close: bool = False) -> Response:
        """S3's XML error; the upload's vendor may restate a kind (Scripe: too large → 412)."""
        override = self.emu.worlds[self.vendor].profile.s3_error_for(err.kind) if self.vendor else None
        rendered = render_s3(err, self.request_id, override)
        response = Response(
            rendered.body, status=rendered.status, content_type=rendered.content_type, headers=rendered.headers
        )
        if close:
            response.headers["Connection"] = "close"
        return self.finish(response, rendered.code)

    def finish(self, response: Response, code: str | None = None) -> Response:
        response.headers["x-amz-request-id"] = self.request_id
        response.headers["x-amz-id-2"] = "upload-emulator"
        journal_entry.note(
            self.emu,
            request,
            vendor=S3,
            operation=self.operation,
            status=response.status_code,
            code=code,
            request_id=self.request_id,
            started=self.started,
            uploadVendor=self.vendor,
            fault=self.fault,
        )
        return response


def is_public(emu: Emulator, bucket: str | None, key: str | None) -> bool:
    """An object whose upload the vendor made public-read (Ctxfy's publicUrl): anyone may GET it."""
    if bucket is None or key is None or request.method not in ("GET", "HEAD"):
        return False
    record = emu.uploads.for_object(bucket, key)
    return record is not None and bool(record.extra.get("public_read"))


SIGV4_ONLY = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def sigv4_only() -> None:
    """S3 answers a SigV2 request (boto3's and the AWS CLI's default presigned URL: AWSAccessKeyId,
    Signature, Expires; or `Authorization: AWS key:signature`) as a bucket that takes only SigV4 does."""
    v2_query = "Signature" in request.args and "AWSAccessKeyId" in request.args
    v2_header = request.headers.get("Authorization", "").startswith("AWS ")
    if v2_query or v2_header:
        raise ApiError(errors.ACCESS_DENIED, SIGV4_ONLY, code="InvalidRequest", status=400)


def one_auth_mechanism() -> None:
    """S3 refuses a request that is presigned and also carries an Authorization header (a client
    bug Scripe's guide warns about), and a signing parameter given twice."""
    sigv4_only()
    if "X-Amz-Signature" in request.args and "Authorization" in request.headers:
        raise ApiError(
            errors.AUTH_QUERY_INVALID,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified",
            code="InvalidArgument",
            extra={"ArgumentName": "Authorization", "ArgumentValue": "(redacted)"},
        )
    twice = sorted(name for name in AUTH_PARAMS if len(request.args.getlist(name)) > 1)
    if twice:
        raise ApiError(
            errors.AUTH_QUERY_INVALID,
            f"{twice[0]} may appear only once in a presigned URL.",
            code="InvalidArgument",
            extra={"ArgumentName": twice[0]},
        )


def authorize_read(call: S3Call, bucket: str | None = None, key: str | None = None) -> None:
    one_auth_mechanism()
    path, query = raw_target(request)
    if "X-Amz-Signature" in request.args:
        call.signed_by = call.emu.presigner.verify_query(
            request.method, request.host, path, query, request.headers, call.emu.clock.now()
        ).access_key
    elif "Authorization" in request.headers:
        call.signed_by = call.emu.presigner.verify_header(
            request.method, request.host, path, query, request.headers
        ).access_key
    elif is_public(call.emu, bucket, key):
        return
    else:
        raise ApiError(
            errors.ACCESS_DENIED,
            "Anonymous access is not allowed; sign the request "
            "with the emulator's S3 credentials (see `upload-emulator serve` output).",
        )


def open_read(operation: str, bucket: str | None = None, key: str | None = None) -> tuple[S3Call, Response | None]:
    """The shared start of every signed (or public-read) read: a fault, the signature, the bucket."""
    call = S3Call(current_emulator(), operation)
    if (injected := call.preempt()) is not None:
        return call, injected
    try:
        authorize_read(call, bucket, key)
        if bucket is not None and not call.emu.storage.has_bucket(bucket):
            raise ApiError(errors.NO_SUCH_BUCKET, extra={"BucketName": bucket})
    except ApiError as err:
        return call, call.error(err)
    return call, None


def operation_for(method: str, path: str) -> str:
    """The S3 operation a request names by its method and path (for a request refused before routing)."""
    parts = path.split("/", 3)[2:]  # "", "s3", then bucket and key
    if not parts or not parts[0]:
        return "ListBuckets" if method == "GET" else "Service"
    if len(parts) == 1 or not parts[1]:
        return {"GET": "ListObjectsV2", "HEAD": "HeadBucket"}.get(method, "Bucket")
    return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
        method, "Object"
    )


def answer_before_routing(err: ApiError, framing_status: int | None) -> Response:
    """S3's answer to a request the server refused (its framing, or no room in its lane), body unread."""
    call = S3Call(current_emulator(), operation_for(request.method, request.path))
    if framing_status is not None:
        err.status, err.code = framing_status, FRAMING_CODES.get(framing_status, "InvalidRequest")
    return call.error(err)

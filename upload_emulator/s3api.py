"""The S3 endpoint under /s3: presigned PUTs from clients, signed reads from boto3.

A presigned PUT is verified (signature, expiry), matched to its upload record (size cap,
state), then streamed into storage while hashed; a rejected or short body stores nothing.
Reads (GetObject, HeadObject, ListObjectsV2, ListBuckets, DeleteObject) take a normal
SigV4 `Authorization` header made with the emulator's fixed credentials, so an ordinary
boto3 client pointed at `http://host:port/s3` can check what landed.
"""

from __future__ import annotations

import base64
import errno
import re
import secrets
import time
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Blueprint, Request, Response, current_app, request

from upload_emulator import capacity, errors, requestlog
from upload_emulator.dialects import render_s3
from upload_emulator.errors import ApiError
from upload_emulator.faults import S3, S3_CODES_BY_STATUS
from upload_emulator.presign import QUERY_AUTH_PARAMS as AUTH_PARAMS
from upload_emulator.runtime import Emulator
from upload_emulator.s3listing import list_objects_v2
from upload_emulator.state import REDEEMED, REMOVED
from upload_emulator.storage import BODY_CUT_SHORT
from upload_emulator.uploads import S3_MOUNT

READ_CHUNK = 1024 * 1024
# An over-cap body up to this size is read and dropped before answering, so the client
# sees the error instead of a reset connection; past it the connection is closed.
DRAIN_LIMIT = 16 * 1024 * 1024
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
CUT_FLAG = "upload_emulator.cut_connection"
# Query parameters that name an S3 sub-resource or API the emulator does not emulate: 501.
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


class ConnectionCutter:
    """WSGI wrapper: when a fault asked to drop the connection, answer with nothing at all.

    The S3 view reads the bytes the fault allows, then flags the environ; raising an
    ECONNABORTED OSError here makes cheroot close the socket without writing a response,
    which is what a client sees when a real upload is cut off mid-body.
    """

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        result = self.wsgi_app(environ, start_response)
        if environ.get(CUT_FLAG):
            if hasattr(result, "close"):
                result.close()
            raise ConnectionAbortedError(errno.ECONNABORTED, "connection cut by an injected fault")
        return result


def _emu() -> Emulator:
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


def _drain(stream, limit: int) -> bool:
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


class _S3Call:
    def __init__(self, emu: Emulator, operation: str) -> None:
        self.emu = emu
        self.operation = operation
        self.request_id = secrets.token_hex(8).upper()
        self.started = time.perf_counter()
        self.vendor: str | None = None
        self.fault: str | None = None
        emu.scheduler.run_due(emu.clock.now())  # e.g. an object removed when its job finished

    def preempt(self) -> Response | None:
        """An answer before the operation runs: no room for it in its lane (503, body unread),
        or a matching fault: a delay, an S3 error, or (PUT) a connection cut mid-body."""
        if capacity.refused(request.environ):
            return self.error(capacity.busy())
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
            request.environ[CUT_FLAG] = True
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
            return self.error(err, close=not _drain(request.stream, DRAIN_LIMIT))
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
        requestlog.note(
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


def _is_public(emu: Emulator, bucket: str | None, key: str | None) -> bool:
    """An object whose upload the vendor made public-read (Ctxfy's publicUrl): anyone may GET it."""
    if bucket is None or key is None or request.method not in ("GET", "HEAD"):
        return False
    record = emu.uploads.for_object(bucket, key)
    return record is not None and bool(record.extra.get("public_read"))


def _one_auth_mechanism() -> None:
    """S3 refuses a request that is presigned and also carries an Authorization header (a client
    bug Scripe's guide warns about), and a signing parameter given twice."""
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


def _authorize_read(call: _S3Call, bucket: str | None = None, key: str | None = None) -> None:
    _one_auth_mechanism()
    path, query = raw_target(request)
    if "X-Amz-Signature" in request.args:
        call.emu.presigner.verify_query(
            request.method, request.host, path, query, request.headers, call.emu.clock.now()
        )
    elif "Authorization" in request.headers:
        call.emu.presigner.verify_header(request.method, request.host, path, query, request.headers)
    elif _is_public(call.emu, bucket, key):
        return
    else:
        raise ApiError(
            errors.ACCESS_DENIED,
            "Anonymous access is not allowed; sign the request "
            "with the emulator's S3 credentials (see `upload-emulator serve` output).",
        )


def put_object(bucket: str, key: str) -> Response:
    emu = _emu()
    call = _S3Call(emu, "PutObject")
    if (injected := call.preempt()) is not None:
        return injected
    stream = request.stream
    try:
        if "X-Amz-Signature" not in request.args:
            raise ApiError(errors.ACCESS_DENIED, "Uploads must use the presigned URL the API returned.")
        _one_auth_mechanism()
        path, query = raw_target(request)
        now = emu.clock.now()
        emu.presigner.verify_query("PUT", request.host, path, query, request.headers, now)
        record = emu.uploads.for_object(bucket, key)
        if record is None:
            raise ApiError(errors.ACCESS_DENIED, "No upload is waiting at this URL (was the emulator reset?).")
        call.vendor = record.vendor
        if record.state in (REDEEMED, REMOVED):
            raise ApiError(errors.ACCESS_DENIED, f"This upload is {record.state}; it takes no more bytes.")
        size = request.content_length
        if size is None:
            raise ApiError(errors.MISSING_CONTENT_LENGTH)
        if size > record.max_size_bytes:
            cap = record.max_size_bytes
            raise ApiError(errors.ENTITY_TOO_LARGE, extra={"ProposedSize": size, "MaxSizeAllowed": cap})
        expected_md5 = _content_md5(request.headers.get("Content-MD5"))
        staged = emu.storage.stage(iter(lambda: stream.read(READ_CHUNK), b""), size)
        if expected_md5 is not None and expected_md5 != staged.md5_hex:
            staged.discard()
            raise ApiError(
                errors.BAD_DIGEST,
                extra={"ExpectedDigest": request.headers["Content-MD5"], "CalculatedDigest": _b64_md5(staged.md5_hex)},
            )
        stored = emu.uploads.accept_bytes(
            record, lambda: emu.storage.commit(bucket, key, staged, record.content_type), emu.clock.now()
        )
        if stored is None:
            staged.discard()
            raise ApiError(errors.ACCESS_DENIED, "This upload was used while its bytes were arriving.")
    except ApiError as err:  # rejected before its body was read: drop the body, then answer
        return call.error(err, close=not _drain(stream, DRAIN_LIMIT))
    except BODY_CUT_SHORT as short:
        return call.error(ApiError(errors.INCOMPLETE_BODY, f"{errors.INCOMPLETE_BODY.message} ({short})"), close=True)
    response = Response(b"", status=200)
    response.headers["ETag"] = stored.etag
    response.headers.pop("Content-Type", None)
    return call.finish(response)


def _content_md5(header: str | None) -> str | None:
    """The hex MD5 a `Content-MD5` header promises (S3 checks it even when it is not signed)."""
    if header is None:
        return None
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise ApiError(errors.INVALID_DIGEST)
    return digest.hex()


def _b64_md5(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


def _object_headers(obj) -> dict[str, str]:
    return {
        "ETag": obj.etag,
        "Content-Type": obj.content_type,
        "Content-Length": str(obj.size),
        "Last-Modified": obj.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Accept-Ranges": "bytes",
    }


def _open_read(operation: str, bucket: str | None = None, key: str | None = None) -> tuple[_S3Call, Response | None]:
    """The shared start of every signed (or public-read) read: a fault, the signature, the bucket."""
    call = _S3Call(_emu(), operation)
    if (injected := call.preempt()) is not None:
        return call, injected
    try:
        _authorize_read(call, bucket, key)
        if bucket is not None and not call.emu.storage.has_bucket(bucket):
            raise ApiError(errors.NO_SUCH_BUCKET, extra={"BucketName": bucket})
    except ApiError as err:
        return call, call.error(err)
    return call, None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) a single `Range: bytes=…` asks for; None for the whole object.

    A header that is not a single byte range is ignored, as HTTP says; one that cannot be
    satisfied raises 416 InvalidRange, as S3 answers.
    """
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            start = size
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    if start >= size or size == 0:
        raise ApiError(
            errors.INVALID_RANGE,
            extra={"RangeRequested": header, "ActualObjectSize": size},
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def get_object(bucket: str, key: str, head: bool) -> Response:
    call, refused = _open_read("HeadObject" if head else "GetObject", bucket, key)
    obj = None if refused else call.emu.storage.head(bucket, key)
    if refused is None and obj is None:
        refused = call.error(ApiError(errors.NO_SUCH_KEY, extra={"Key": key}))
    wanted = None
    if refused is None and obj is not None and not head:
        try:
            wanted = byte_range(request.headers.get("Range"), obj.size)
        except ApiError as err:
            refused = call.error(err)
    if refused is not None or obj is None:
        if head and refused is not None:
            refused.set_data(b"")  # HEAD answers carry no body, errors included
        return refused or call.error(ApiError(errors.NO_SUCH_KEY, extra={"Key": key}))
    headers = _object_headers(obj)
    if head:
        response = Response(b"", status=200, headers=headers)
        response.headers["Content-Length"] = str(obj.size)
        return call.finish(response)
    start, end = wanted or (0, obj.size - 1)
    body = call.emu.storage.iter_content(bucket, key, start=start, end=end)
    if wanted is not None:
        headers.update({"Content-Range": f"bytes {start}-{end}/{obj.size}", "Content-Length": str(end - start + 1)})
    response = Response(body, status=206 if wanted else 200, headers=headers, direct_passthrough=True)
    return call.finish(response)


def delete_object(bucket: str, key: str) -> Response:
    call, refused = _open_read("DeleteObject", bucket)
    if refused is not None:
        return refused
    record = call.emu.uploads.for_object(bucket, key)
    if record is not None:
        call.emu.uploads.remove(record)  # nothing may redeem or complete an upload whose bytes are gone
    call.emu.storage.delete(bucket, key)
    return call.finish(Response(b"", status=204))


def list_objects(bucket: str) -> Response:
    call, refused = _open_read("ListObjectsV2", bucket)
    if refused is not None:
        return refused
    try:
        xml = list_objects_v2(bucket, call.emu.storage.list(bucket, request.args.get("prefix", "")), request.args)
    except ApiError as err:
        return call.error(err)
    return call.finish(Response(xml, status=200, content_type="application/xml"))


def head_bucket(bucket: str) -> Response:
    call, refused = _open_read("HeadBucket", bucket)
    if refused is not None:
        refused.set_data(b"")  # HEAD answers carry no body, errors included
        return refused
    return call.finish(Response(b"", status=200, headers={"x-amz-bucket-region": call.emu.settings.s3_region}))


def not_implemented(operation: str) -> Response:
    """S3 features the emulator does not have (`?acl`, `?tagging`, multipart, …) say so, as 501."""
    call = _S3Call(_emu(), operation)
    asked = sorted(set(request.args) & SUBRESOURCES)
    err = ApiError(
        errors.INTERNAL,
        f"The emulator does not implement the {', '.join(asked)} sub-resource(s).",
        code="NotImplemented",
        status=501,
        extra={"Header": "", "Subresource": ",".join(asked)},
    )
    return call.error(err, close=not _drain(request.stream, DRAIN_LIMIT))


def list_buckets() -> Response:
    call, refused = _open_read("ListBuckets")
    if refused is not None:
        return refused
    emu = call.emu
    buckets = "".join(
        f"<Bucket><Name>{escape(name)}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
        for name in emu.storage.bucket_names()
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{S3_NS}">'
        f"<Owner><ID>upload-emulator</ID></Owner><Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
    )
    return call.finish(Response(xml, status=200, content_type="application/xml"))


def _not_allowed(operation: str) -> Response:
    """405 — but a presigned URL used with the wrong method fails its signature first, as on S3."""
    call = _S3Call(_emu(), operation)
    try:
        if "X-Amz-Signature" in request.args:
            _authorize_read(call)
        raise ApiError(errors.S3_METHOD_NOT_ALLOWED, extra={"Method": request.method})
    except ApiError as err:
        return call.error(err, close=not _drain(request.stream, DRAIN_LIMIT))


def blueprint() -> Blueprint:
    bp = Blueprint("s3", __name__, url_prefix=S3_MOUNT)
    any_method = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]

    @bp.route("/", methods=any_method, strict_slashes=False)
    def service_root():
        return list_buckets() if request.method == "GET" else _not_allowed("Service")

    @bp.route("/<bucket>", methods=any_method, strict_slashes=False)
    def bucket_root(bucket: str):
        if SUBRESOURCES & set(request.args):
            return not_implemented("Bucket")
        if request.method == "HEAD":
            return head_bucket(bucket)
        return list_objects(bucket) if request.method == "GET" else _not_allowed("Bucket")

    @bp.route("/<bucket>/<path:key>", methods=any_method)
    def object_route(bucket: str, key: str):
        if SUBRESOURCES & set(request.args):
            return not_implemented("Object")
        if request.method == "PUT":
            return put_object(bucket, key)
        if request.method in ("GET", "HEAD"):
            return get_object(bucket, key, head=request.method == "HEAD")
        if request.method == "DELETE":
            return delete_object(bucket, key)
        return _not_allowed("Object")

    return bp

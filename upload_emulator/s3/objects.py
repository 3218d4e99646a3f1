"""Objects: the presigned PUT that stores an upload's bytes, and signed reads and deletes.

A presigned PUT is verified (signature, expiry), matched to its upload record (size cap,
state), then streamed into storage while hashed; a rejected or short body stores nothing.
"""

from __future__ import annotations

import base64
import re

from flask import Response, request

from upload_emulator.blobs.body import BODY_CUT_SHORT, stage
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError
from upload_emulator.s3.call import (
    DRAIN_LIMIT,
    S3Call,
    current_emulator,
    drain,
    one_auth_mechanism,
    open_read,
    raw_target,
)
from upload_emulator.services.emulator import Emulator
from upload_emulator.services.records import REDEEMED, REMOVED


def put_object(bucket: str, key: str) -> Response:
    emu = current_emulator()
    call = S3Call(emu, "PutObject")
    if (injected := call.preempt()) is not None:
        return injected
    stream = request.stream
    try:
        one_auth_mechanism()
        if "X-Amz-Signature" not in request.args:
            raise ApiError(errors.ACCESS_DENIED, "Uploads must use the presigned URL the API returned.")
        path, query = raw_target(request)
        now = emu.clock.now()
        signed = emu.presigner.verify_query("PUT", request.host, path, query, request.headers, now)
        writable(emu, signed.access_key)
        record = emu.uploads.for_object(bucket, key)
        if record is None:
            raise ApiError(errors.ACCESS_DENIED, "No upload is waiting at this URL (was the emulator reset?).")
        call.vendor = record.vendor
        if record.state in (REDEEMED, REMOVED):
            raise ApiError(errors.ACCESS_DENIED, f"This upload is {record.state}; it takes no more bytes.")
        if record.put_until is None or now >= record.put_until or record.is_expired(now):
            raise ApiError(errors.ACCESS_DENIED, "This upload's window for bytes has closed; mint a new upload.")
        declared_sha256 = _content_sha256(request.headers.get("x-amz-content-sha256"))
        size = request.content_length
        if size is None:
            raise ApiError(errors.MISSING_CONTENT_LENGTH)
        if size > record.max_size_bytes:
            cap = record.max_size_bytes
            raise ApiError(errors.ENTITY_TOO_LARGE, extra={"ProposedSize": size, "MaxSizeAllowed": cap})
        expected_md5 = _content_md5(request.headers.get("Content-MD5"))
        staged = stage(stream, size)
        if expected_md5 is not None and expected_md5 != staged.etag:  # a single body's ETag is its MD5
            staged.discard()
            raise ApiError(
                errors.BAD_DIGEST,
                extra={"ExpectedDigest": request.headers["Content-MD5"], "CalculatedDigest": _b64_md5(staged.etag)},
            )
        if declared_sha256 is not None and declared_sha256 != staged.sha256_hex:
            staged.discard()
            raise ApiError(
                errors.CONTENT_SHA256_MISMATCH,
                extra={"ClientComputedContentSHA256": declared_sha256, "S3ComputedContentSHA256": staged.sha256_hex},
            )
        stored = emu.uploads.accept_bytes(
            record, lambda: emu.storage.commit(bucket, key, staged, record.content_type), emu.clock.now()
        )
        if stored is None:
            staged.discard()
            raise ApiError(errors.ACCESS_DENIED, "This upload was used while its bytes were arriving.")
    except ApiError as err:  # rejected before its body was read: drop the body, then answer
        return call.error(err, close=not drain(stream, DRAIN_LIMIT))
    except BODY_CUT_SHORT as short:
        return call.error(ApiError(errors.INCOMPLETE_BODY, f"{errors.INCOMPLETE_BODY.message} ({short})"), close=True)
    response = Response(b"", status=200)
    response.headers["ETag"] = stored.etag
    response.headers.pop("Content-Type", None)
    return call.finish(response)


def writable(emu: Emulator, access_key: str | None) -> None:
    """Only the emulator's own minting credential writes; the credentials `serve` prints read."""
    if access_key != emu.presigner.access_key:
        raise ApiError(
            errors.ACCESS_DENIED,
            "Access Denied: the emulator's S3 credentials may only read (GET, HEAD, list); "
            "bytes are PUT to the URL a vendor API minted.",
        )


# What a client may say in x-amz-content-sha256 instead of the body's digest.
UNSIGNED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-")


def _content_sha256(header: str | None) -> str | None:
    """The hex SHA-256 an `x-amz-content-sha256` header promises, None when it promises none."""
    if header is None or header.startswith(UNSIGNED_PAYLOADS):
        return None
    value = header.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ApiError(
            errors.INVALID_ARGUMENT,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.",
            extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": header[:64]},
        )
    return value


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
    call, refused = open_read("HeadObject" if head else "GetObject", bucket, key)
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
    call, refused = open_read("DeleteObject", bucket)
    if refused is not None:
        return refused
    try:
        writable(call.emu, call.signed_by)
    except ApiError as err:
        return call.error(err)
    record = call.emu.uploads.for_object(bucket, key)
    if record is not None:
        call.emu.uploads.remove(record)  # nothing may redeem or complete an upload whose bytes are gone
    call.emu.storage.delete(bucket, key)
    return call.finish(Response(b"", status=204))

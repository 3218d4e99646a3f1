"""Adclear: what cannot be data — resumable chunked uploads through the API, and promotions.

Bytes do not go to a presigned URL: each chunk is PUT to the API with a Content-Range and
appended, in order, to an `Assembly` on disk (hashed as it arrives, never held in memory).
A chunk cut off mid-body adds nothing, so `bytesReceived` is always a safe place to resume.
The final chunk commits the assembled file to the emulator's S3 as one object.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from upload_emulator.api import upload_flow
from upload_emulator.api.call import Call, Reply
from upload_emulator.blobs.body import BODY_CUT_SHORT, Assembly
from upload_emulator.core import errors
from upload_emulator.core.clock import isoformat
from upload_emulator.core.dialects import Dialect, field_details
from upload_emulator.core.errors import ApiError, ErrorMapping
from upload_emulator.core.profiles import VendorProfile
from upload_emulator.services.records import REMOVED, UPLOADED, UploadRecord

VENDOR = "adclear"
RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+)")
# Work whose end a test may decide with POST /_emulator/outcomes (e.g. a file that fails its checks).
OUTCOMES = {"upload": ("completed", "failed")}


def error_body(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> dict:
    """`{"error": {code, message, details: [{type, field, message}]}, "correlationId"}`."""
    error: dict[str, Any] = {"code": m.code, "message": err.message}
    kind = err.extra.get("detail_type", "field_error")
    details = [{"type": kind, "field": name, "message": message} for name, message in field_details(err)]
    if details:
        error["details"] = details
    return {"error": error, "correlationId": request_id}


DIALECTS = {"adclear": Dialect(error_body)}


# --- who is calling ---------------------------------------------------------------------
def _identify(call: Call) -> None:
    """An API key must say which end user it acts for; a session token carries its user."""
    if call.key.kind == "api_key" and not call.request.headers.get("x-external-user-id"):
        raise ApiError(
            errors.MALFORMED_REQUEST,
            "x-external-user-id is required when authenticating with an API key.",
            field="x-external-user-id",
        )


def _record(call: Call, upload_id: str) -> UploadRecord | None:
    record = call.emu.uploads.get(upload_id, call.workspace.id, VENDOR)
    if record is None or record.state == REMOVED:
        return None
    return record


def _find(call: Call) -> UploadRecord:
    _identify(call)
    record = _record(call, call.params["uploadId"])
    if record is None:
        raise ApiError(errors.NOT_FOUND, f"Upload {call.params['uploadId']} was not found.")
    return record


# --- uploads ------------------------------------------------------------------------------
def _status(record: UploadRecord) -> str:
    if record.extra.get("failed"):
        return "failed"
    if record.state == UPLOADED:
        return "completed"
    return "uploading" if record.extra["assembly"].size else "pending"


def _received(record: UploadRecord) -> int:
    return record.size if record.state == UPLOADED and record.size is not None else record.extra["assembly"].size


def _progress(call: Call, record: UploadRecord) -> dict[str, Any]:
    return {
        "uploadId": record.id,
        "status": _status(record),
        "bytesReceived": _received(record),
        "correlationId": call.request_id,
    }


def initiate_upload(call: Call) -> Reply:
    _identify(call)
    body, cfg = call.body, call.profile.settings["uploads"]
    limit = upload_flow.cap_for(cfg["limits"], body["contentType"])
    if limit is None:
        raise ApiError(
            errors.MALFORMED_REQUEST, f"contentType {body['contentType']!r} is not supported.", field="contentType"
        )
    if body["fileSize"] > limit:
        raise ApiError(
            errors.PAYLOAD_TOO_LARGE,
            f"fileSize {body['fileSize']} is over the {limit}-byte limit for {body['contentType']}.",
            field="fileSize",
        )
    upload_id = str(uuid.uuid4())
    record = upload_flow.record_upload(
        call,
        upload_id=upload_id,
        content_type=body["contentType"],
        max_size_bytes=body["fileSize"],
        key_template=cfg["key_template"],
    )
    record.extra.update(
        file_name=body["fileName"],
        assembly=Assembly(),
        lock=threading.Lock(),
        updated_at=call.now,
        completed_at=None,
    )
    return Reply(
        200,
        {
            "uploadId": upload_id,
            "uploadUrl": f"{call.vendor.mount_path}/v1/uploads/{upload_id}",
            "maxChunkSize": int(cfg["max_chunk_size"]),
            "correlationId": call.request_id,
        },
    )


def _parse_range(call: Call, record: UploadRecord) -> tuple[int, int] | None:
    """(start, end) of the chunk, or None for a `bytes */total` status probe."""
    match = RANGE.fullmatch(call.params["Content-Range"].strip())
    if match is None:
        raise ApiError(
            errors.MALFORMED_REQUEST, "Content-Range must be 'bytes start-end/total'.", field="Content-Range"
        )
    first, last, total = match.groups()
    if int(total) != record.max_size_bytes:
        raise ApiError(
            errors.MALFORMED_REQUEST,
            f"Content-Range total {total} is not the declared fileSize {record.max_size_bytes}.",
            field="Content-Range",
        )
    if first is None:
        return None
    start, end = int(first), int(last)
    if end < start or end >= int(total):
        raise ApiError(
            errors.MALFORMED_REQUEST, f"Content-Range {start}-{end} is not inside the file.", field="Content-Range"
        )
    return start, end


def _still_open(record: UploadRecord) -> None:
    """409 for an upload that takes no more bytes (completed, or failed by an outcome rule)."""
    if record.state == UPLOADED or record.extra.get("failed"):
        raise ApiError(errors.CONFLICT, f"Upload {record.id} is already {_status(record)}; it takes no more bytes.")


def upload_chunk(call: Call) -> Reply:
    record = _find(call)
    _still_open(record)
    declared = call.request.content_length
    wanted = _parse_range(call, record)
    if wanted is None:
        if declared:
            raise ApiError(
                errors.MALFORMED_REQUEST, "A 'bytes */total' status request has no body.", field="Content-Range"
            )
        _settled(record)
        return Reply(200, _progress(call, record))
    start, end = wanted
    span = end - start + 1
    if span > int(call.profile.settings["uploads"]["max_chunk_size"]):
        raise ApiError(
            errors.PAYLOAD_TOO_LARGE,
            f"A chunk may be at most {call.profile.settings['uploads']['max_chunk_size']} bytes.",
        )
    if declared is not None and declared != span:
        raise ApiError(
            errors.MALFORMED_REQUEST,
            f"The body is {declared} bytes but Content-Range spans {span}.",
            field="Content-Range",
        )
    # A chunk still arriving (often one whose client was just cut off, and is resuming now) is
    # waited for: the resume then starts from what it left, as the client was told.
    lock: threading.Lock = record.extra["lock"]
    if not lock.acquire(timeout=SETTLE_S):
        raise ApiError(errors.CONFLICT, f"Another chunk of upload {record.id} is still arriving.")
    try:
        _still_open(record)  # again: the chunk waited for may have completed it
        held = record.extra["assembly"].size
        if start > held:
            raise ApiError(
                errors.MALFORMED_REQUEST,
                f"The server holds {held} bytes; send the chunk that starts at byte {held}.",
                field="Content-Range",
            )
        _append(call, record, span, skip=held - start)
    finally:
        lock.release()
    return Reply(200, _progress(call, record))


def _append(call: Call, record: UploadRecord, span: int, skip: int) -> None:
    """Append the chunk's new bytes (all or nothing); the last one completes the upload."""
    assembly: Assembly = record.extra["assembly"]
    stream = call.request.stream
    try:
        assembly.append(stream, span, skip=max(0, skip))
    except BODY_CUT_SHORT as short:
        raise ApiError(
            errors.MALFORMED_REQUEST,
            f"The chunk's body did not match its Content-Range ({short}).",
            field="Content-Range",
        ) from None
    record.extra["updated_at"] = call.now
    if assembly.size < record.max_size_bytes:
        return
    decided = call.emu.outcomes.take(
        VENDOR, "upload", {"contentType": record.content_type, "fileName": record.extra["file_name"]}
    )
    if decided is not None and decided.result == "failed":
        record.extra["failed"] = True
        assembly.discard()
        return
    staged = assembly.staged()
    call.emu.uploads.accept_bytes(
        record, lambda: call.emu.storage.commit(record.bucket, record.key, staged, record.content_type), call.now
    )
    record.extra["completed_at"] = call.now


# How long a status read waits for a chunk still being read to end: a chunk whose client left
# ends as soon as the server reads the close, one whose client went silent when the server's
# body deadline cuts it (10 s without a kilobyte).
SETTLE_S = 12.0


def _settled(record: UploadRecord) -> None:
    """Wait until no chunk of the upload is arriving (up to SETTLE_S), so the bytesReceived a
    status read gives is where the next chunk can start: right after a cut, the cut chunk's
    request may still be ending on the server when the client asks where to resume."""
    lock: threading.Lock = record.extra["lock"]
    if lock.acquire(timeout=SETTLE_S):
        lock.release()


def get_upload(call: Call) -> Reply:
    record = _find(call)
    _settled(record)
    completed = record.extra.get("completed_at")
    return Reply(
        200,
        {
            **_progress(call, record),
            "fileName": record.extra["file_name"],
            "fileSize": record.max_size_bytes,
            "contentType": record.content_type,
            "maxChunkSize": int(call.profile.settings["uploads"]["max_chunk_size"]),
            "createdAt": isoformat(record.created_at),
            "updatedAt": isoformat(record.extra["updated_at"]),
            "completedAt": isoformat(completed) if completed else None,
        },
    )


def delete_upload(call: Call) -> Reply:
    record = _find(call)
    was_complete = record.state == UPLOADED
    call.emu.uploads.remove(record)
    if was_complete:
        call.emu.storage.delete(record.bucket, record.key)
    else:  # the chunks held so far (a failed upload's were dropped already; closing twice is harmless)
        record.extra["assembly"].discard()
    return Reply(200, {"success": True, "correlationId": call.request_id})


# --- promotions (Integration API) ---------------------------------------------------------
def create_promotion(call: Call) -> Reply:
    _identify(call)
    body = call.body
    found = [(upload_id, _record(call, upload_id)) for upload_id in body["uploadIds"]]
    missing = [(f"uploadIds[{n}]", f"Upload {i} was not found.") for n, (i, r) in enumerate(found) if r is None]
    if missing:
        raise ApiError(errors.NOT_FOUND, missing[0][1], field=missing[0][0], field_errors=tuple(missing))
    not_ready = [
        (f"uploadIds[{n}]", f"Upload {i} is {_status(r)}, not completed.")
        for n, (i, r) in enumerate(found)
        if r is not None and r.state != UPLOADED
    ]
    if not_ready:
        raise ApiError(
            errors.CONFLICT,
            "Every upload must be completed before it is promoted.",
            field=not_ready[0][0],
            field_errors=tuple(not_ready),
            extra={"detail_type": "upload_not_ready"},
        )
    promotion = {
        "id": str(uuid.uuid4()),
        "uploadIds": list(body["uploadIds"]),
        "name": body.get("name"),
        "createdAt": isoformat(call.now),
    }
    call.emu.resources.put(VENDOR, "promotion", call.workspace.id, promotion)
    return Reply(
        201,
        {
            "promotionId": promotion["id"],
            "uploadIds": promotion["uploadIds"],
            "name": promotion["name"],
            "status": "submitted",
            "createdAt": promotion["createdAt"],
            "correlationId": call.request_id,
        },
    )


HANDLERS = {
    "initiateUpload": initiate_upload,
    "uploadChunk": upload_chunk,
    "getUpload": get_upload,
    "deleteUpload": delete_upload,
    "createPromotion": create_promotion,
}

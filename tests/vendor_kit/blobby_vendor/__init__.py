"""Blobby: a made-up vendor that another package offers (the plug-in test installs it).

Two operations: POST /v1/uploads mints a presigned PUT, GET /v1/uploads/{uploadId} reads
the upload back. Callers send `Authorization: Bearer <key>`; errors are Blobby's own
envelope, `{"fault": {"kind", "text", "trace"}}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from upload_emulator.api import upload_flow
from upload_emulator.api.call import Call, Reply
from upload_emulator.core import errors
from upload_emulator.core.dialects import Dialect
from upload_emulator.core.errors import ApiError, ErrorMapping

VENDOR = "blobby"
DATA_DIR = Path(__file__).resolve().parent  # specs/blobby.yaml, fixtures/blobby.yaml, walkthrough.md


def error_body(err: ApiError, m: ErrorMapping, request_id: str, profile: Any) -> dict:
    return {"fault": {"kind": m.code, "text": err.message, "trace": request_id}}


DIALECTS = {"blobby": Dialect(error_body)}


def _view(record) -> dict:
    return {"id": record.id, "state": record.state, "contentType": record.content_type, "size": record.size}


def create_upload(call: Call) -> Reply:
    cfg = call.profile.settings["uploads"]
    record, url = upload_flow.mint(
        call,
        upload_id=upload_flow.new_id("blb_"),
        content_type=call.body["contentType"],
        max_size_bytes=int(cfg["max_bytes"]),
        ttl_s=int(cfg["ttl_s"]),
        key_template=cfg["key_template"],
    )
    return Reply(201, {**_view(record), "uploadUrl": url})


def get_upload(call: Call) -> Reply:
    record = call.emu.uploads.get(call.params["uploadId"], call.workspace.id, VENDOR)
    if record is None:
        raise ApiError(errors.NOT_FOUND, f"No upload {call.params['uploadId']} here.")
    return Reply(200, _view(record))


HANDLERS = {"createUpload": create_upload, "getUpload": get_upload}

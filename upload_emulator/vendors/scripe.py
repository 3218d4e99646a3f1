"""Scripe: what cannot be data — the upload allow-list check, redemption, and jobs.

Jobs run on the emulator's clock: QUEUED for `jobs.queued_s`, RUNNING for
`jobs.running_s`, then DONE. Their status is computed when read, so advancing the clock
is all a test needs to do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from upload_emulator import errors, uploads
from upload_emulator.clock import isoformat
from upload_emulator.dialects import Dialect
from upload_emulator.errors import ApiError
from upload_emulator.pipeline import Call, Reply
from upload_emulator.world import ErrorMapping, VendorProfile

VENDOR = "scripe"
PREVIEW_CHARS = 280
TEXT_TYPES = ("text/",)


def _uploads_cfg(call: Call) -> dict[str, Any]:
    return call.profile.settings["uploads"]


def get_health(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


def get_current_workspace(call: Call) -> Reply:
    ws, key = call.workspace, call.key
    return Reply(
        200,
        {
            "workspace": {"id": ws.id, "name": ws.name, "plan": ws.plan, "features": {"apiAccess": True}},
            "principal": {"type": "api_key", "id": key.id, "scopes": sorted(key.scopes)},
        },
    )


def create_upload(call: Call) -> Reply:
    cfg = _uploads_cfg(call)
    table = cfg["content_types"][cfg["caps"]]
    content_type = call.body["contentType"]
    cap = uploads.cap_for(table, content_type)
    if cap is None:
        raise ApiError(
            errors.UNPROCESSABLE,
            f"contentType {content_type!r} is not accepted. Accepted: {', '.join(table)}.",
            field="contentType",
        )
    max_size = call.body.get("maxSizeBytes", cap)
    if max_size > cap:
        raise ApiError(
            errors.UNPROCESSABLE,
            f"maxSizeBytes {max_size} is over the {cap}-byte cap for {content_type}.",
            field="maxSizeBytes",
        )
    record, url = uploads.mint(
        call.emu,
        vendor=VENDOR,
        workspace=call.workspace.id,
        upload_id=uploads.new_id("upl_"),
        content_type=content_type,
        max_size_bytes=max_size,
        ttl_s=int(cfg["ttl_s"]),
        key_template=cfg["key_template"],
        scheme=call.request.scheme,
        host=call.request.host,
        now=call.now,
    )
    return Reply(
        200,
        {
            "data": {
                "id": record.id,
                "uploadUrl": url,
                "method": "PUT",
                "contentType": record.content_type,
                "maxSizeBytes": record.max_size_bytes,
                "expiresAt": isoformat(record.expires_at) if record.expires_at else None,
            }
        },
    )


def error_body(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> dict:
    """Scripe's envelope: `{"error": {code, message, request_id, docs_url, details}}`."""
    body: dict[str, Any] = {"code": m.code, "message": err.message, "request_id": request_id}
    if profile is not None and profile.docs_url:
        body["docs_url"] = profile.docs_url.format(code=m.code)
    details = dict(err.extra)
    if err.field:
        details["param"] = err.field
    if details:
        body["details"] = details
    return {"error": body}


# --- sources, knowledge and the jobs that ingest them --------------------------------
def _new_job(call: Call, job_type: str, project_id: str | None, result: dict[str, str]) -> dict:
    job = {
        "id": uploads.new_id("job_"),
        "type": job_type,
        "projectId": project_id,
        "createdAt": call.now,
        "_result": result,
    }
    call.emu.resources.put(VENDOR, "job", call.workspace.id, job)
    return job


def _job_view(call: Call, job: dict, queued: bool = False) -> dict:
    """The job as it stands on the emulator's clock (always QUEUED in the create reply)."""
    cfg = call.profile.settings.get("jobs") or {}
    queued_s, running_s = float(cfg.get("queued_s", 0)), float(cfg.get("running_s", 0))
    created = job["createdAt"]
    elapsed = (call.now - created).total_seconds()
    started = created + timedelta(seconds=queued_s)
    done_at = started + timedelta(seconds=running_s)
    view = {
        "id": job["id"],
        "type": job["type"],
        "status": "QUEUED",
        "projectId": job["projectId"],
        "startedAt": None,
        "completedAt": None,
        "progress": None,
        "result": None,
        "errorCode": None,
        "errorMessage": None,
        "attemptCount": 0,
        "estimatedCompletionMs": int((queued_s + running_s) * 1000),
        "createdAt": isoformat(created),
        "updatedAt": isoformat(created),
    }
    if queued or elapsed < queued_s:
        return view
    view.update(startedAt=isoformat(started), attemptCount=1, updatedAt=isoformat(started))
    if elapsed < queued_s + running_s:
        fraction = round((elapsed - queued_s) / running_s, 3)
        view.update(
            status="RUNNING",
            updatedAt=isoformat(call.now),
            estimatedCompletionMs=int((done_at - call.now).total_seconds() * 1000),
            progress={"progress": fraction, "updatedAt": isoformat(call.now), "message": "ingesting"},
        )
        return view
    view.update(
        status="DONE",
        completedAt=isoformat(done_at),
        updatedAt=isoformat(done_at),
        estimatedCompletionMs=0,
        result=dict(job["_result"]),
        progress={"progress": 1, "updatedAt": isoformat(done_at), "message": "done"},
    )
    return view


def _source(call: Call, project_id: str, name: str, file_type: str, preview: str | None) -> dict:
    now = isoformat(call.now)
    source: dict[str, Any] = {
        "id": uploads.new_id("src_"),
        "projectId": project_id,
        "status": "Done",
        "name": name,
        "fileType": file_type,
        "durationSeconds": None,
        "createdAt": now,
        "updatedAt": now,
        "textPreview": None if preview is None else preview[:PREVIEW_CHARS],
        "textPreviewTruncated": preview is not None and len(preview) > PREVIEW_CHARS,
        "hasFullText": preview is not None,
        "topics": [],
    }
    return call.emu.resources.put(VENDOR, "source", call.workspace.id, source)


def _redeem(call: Call, job_id_hint: str):
    """Take the body's uploadId for one use, keep a text preview of text uploads, delete the object."""
    record = uploads.redeem(
        call.emu,
        upload_id=call.body["uploadId"],
        workspace=call.workspace.id,
        by=job_id_hint,
        now=call.now,
    )
    preview = None
    if record.content_type.startswith(TEXT_TYPES):
        preview = uploads.head_bytes(call.emu, record, PREVIEW_CHARS * 4).decode("utf-8", "replace")
    call.emu.storage.delete(record.bucket, record.key)
    return record, preview


def create_source(call: Call) -> Reply:
    body = call.body
    if body["type"] == "text":
        source = _source(call, body["projectId"], body.get("name", "Untitled"), "text", body["text"])
        return Reply(200, {"data": source})
    record, preview = _redeem(call, f"{call.op.operation_id}:{call.request_id}")
    name = body.get("name") or f"Upload {record.id}"
    source = _source(call, body["projectId"], name, record.content_type, preview)
    job = _new_job(call, "SOURCE_INGEST_FILE", body["projectId"], {"sourceId": source["id"]})
    return Reply(202, {"data": _job_view(call, job, queued=True)})


def create_knowledge_document(call: Call) -> Reply:
    body = call.body
    kind = body["type"]
    if kind == "file":
        _redeem(call, f"{call.op.operation_id}:{call.request_id}")
    document = {"id": uploads.new_id("kb_"), "type": kind, "name": body.get("name"), "projectId": body.get("projectId")}
    call.emu.resources.put(VENDOR, "document", call.workspace.id, document)
    job = _new_job(call, f"KB_INGEST_{kind.upper()}", body.get("projectId"), {"documentId": document["id"]})
    return Reply(202, {"data": _job_view(call, job, queued=True)})


def get_source(call: Call) -> Reply:
    source = call.emu.resources.get(VENDOR, "source", call.params["sourceId"], call.workspace.id)
    if source is None:
        raise ApiError(errors.NOT_FOUND, f"Source {call.params['sourceId']} was not found.")
    return Reply(200, {"data": source})


def get_job(call: Call) -> Reply:
    job = call.emu.resources.get(VENDOR, "job", call.params["jobId"], call.workspace.id)
    if job is None:
        raise ApiError(errors.NOT_FOUND, f"Job {call.params['jobId']} was not found.")
    return Reply(200, {"data": _job_view(call, job)})


HANDLERS = {
    "getHealth": get_health,
    "getCurrentWorkspace": get_current_workspace,
    "createUpload": create_upload,
    "createSource": create_source,
    "createKnowledgeDocument": create_knowledge_document,
    "getSource": get_source,
    "getJob": get_job,
}

DIALECTS = {"scripe": Dialect(error_body)}

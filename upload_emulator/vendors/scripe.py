"""Scripe: what cannot be data — the upload allow-list check, redemption, and jobs.

Jobs run on the emulator's clock: QUEUED for `jobs.queued_s`, RUNNING for
`jobs.running_s`, then DONE. Their status is computed when read, so advancing the clock
is all a test needs to do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from upload_emulator.api import upload_flow
from upload_emulator.api.call import Call, Reply
from upload_emulator.core import errors
from upload_emulator.core.clock import isoformat, parse_iso
from upload_emulator.core.cursors import decode_cursor, encode_cursor
from upload_emulator.core.dialects import Dialect
from upload_emulator.core.errors import ApiError, ErrorMapping
from upload_emulator.core.profiles import VendorProfile

VENDOR = "scripe"
LIVE_PREFIX = "scripe_sk_live_"
LIVE_SUFFIX = ".live"  # the data space of a workspace's live keys
# Work whose end a test may decide with POST /_emulator/outcomes.
OUTCOMES = {"job": ("DONE", "FAILED", "CANCELLED")}
PREVIEW_CHARS = 280
TEXT_TYPES = ("text/",)


def _uploads_cfg(call: Call) -> dict[str, Any]:
    return call.profile.settings["uploads"]


def refine_spec(document: dict, worlds: dict) -> None:
    """The allow-list the fixture picks (`upload_flow.caps`) as contentType's schema, and each
    type's cap as the most maxSizeBytes may be, so schema tools see the business rule."""
    cfg = worlds[VENDOR].profile.settings["uploads"]
    table = cfg["content_types"][cfg["caps"]]
    create = document["components"]["schemas"]["UploadCreate"]
    contents = create["properties"]["contentType"]
    for stale in ("enum", "pattern"):
        contents.pop(stale, None)
    contents.update(upload_flow.media_type_schema(list(table)))
    create.update(upload_flow.cap_rule(table, "contentType", "maxSizeBytes"))


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
    # The schema (refine_spec) admits only listed types, and maxSizeBytes within the type's cap.
    max_size = call.body.get("maxSizeBytes", upload_flow.cap_for(table, content_type))
    record, url = upload_flow.mint(
        call,
        workspace=_data_space(call),
        upload_id=upload_flow.new_id("upl_"),
        content_type=content_type,
        max_size_bytes=max_size,
        ttl_s=int(cfg["ttl_s"]),
        key_template=cfg["key_template"],
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
def _data_space(call: Call) -> str:
    """Where the caller's data lives: live and test keys of one workspace see separate data."""
    live = call.key.secret.startswith(LIVE_PREFIX)
    return f"{call.workspace.id}{LIVE_SUFFIX}" if live else call.workspace.id


def _new_job(call: Call, job_type: str, project_id: str | None, result: dict[str, str], record=None) -> dict:
    """A job whose end is decided now: DONE, or what an outcome rule says; its upload settles then."""
    decided = call.emu.outcomes.take(VENDOR, "job", {"type": job_type, "projectId": project_id})
    job = {
        "id": upload_flow.new_id("job_"),
        "type": job_type,
        "projectId": project_id,
        "createdAt": call.now,
        "_result": result,
        "_final": decided.result if decided else "DONE",
        "_upload": record.id if record is not None else None,
        "_error": (
            (decided.error_code or "INGEST_FAILED", decided.error_message or "The file could not be ingested.")
            if decided
            else None
        ),
    }
    call.emu.resources.put(VENDOR, "job", _data_space(call), job)
    if record is not None:
        emu = call.emu
        call.emu.scheduler.at(_ends_at(call, job), lambda: _settle(emu, job, record))
    return job


def _settle(emu, job: dict, record) -> None:
    """At the job's end: a DONE ingest removes the stored object; a FAILED or CANCELLED one gives
    the upload back, redeemable again until it expires (emulator decision)."""
    if job.get("_cancelled_at") is not None:
        return  # cancelling gave the upload back already
    if job["_final"] == "DONE":
        emu.storage.delete(record.bucket, record.key)
    else:
        emu.uploads.release(record)


def _timing(call: Call) -> tuple[float, float]:
    cfg = call.profile.settings.get("jobs") or {}
    return float(cfg.get("queued_s", 0)), float(cfg.get("running_s", 0))


def _ends_at(call: Call, job: dict):
    queued_s, running_s = _timing(call)
    return job["createdAt"] + timedelta(seconds=queued_s + running_s)


def _job_view(call: Call, job: dict, queued: bool = False) -> dict:
    """The job as it stands on the emulator's clock (always QUEUED in the create reply)."""
    queued_s, running_s = _timing(call)
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
    cancelled = job.get("_cancelled_at")
    if cancelled is not None:
        view.update(status="CANCELLED", completedAt=isoformat(cancelled), updatedAt=isoformat(cancelled))
        view["estimatedCompletionMs"] = None
        return view
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
    view.update(status=job["_final"], completedAt=isoformat(done_at), updatedAt=isoformat(done_at))
    if job["_final"] == "DONE":
        view.update(
            estimatedCompletionMs=0,
            result=dict(job["_result"]),
            progress={"progress": 1, "updatedAt": isoformat(done_at), "message": "done"},
        )
    else:
        view["estimatedCompletionMs"] = None
        if job["_final"] == "FAILED":
            view["errorCode"], view["errorMessage"] = job["_error"]
    return view


def _source(call: Call, project_id: str, name: str, file_type: str, preview: str | None) -> dict:
    now = isoformat(call.now)
    source: dict[str, Any] = {
        "id": upload_flow.new_id("src_"),
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
    return call.emu.resources.put(VENDOR, "source", _data_space(call), source)


def _redeem(call: Call, job_id_hint: str):
    """Take the body's uploadId for one use, and keep a text preview of a text upload.

    The stored object stays until the ingest job is DONE (see `_settle`).
    """
    record = upload_flow.redeem(
        call.emu,
        upload_id=call.body["uploadId"],
        workspace=_data_space(call),
        by=job_id_hint,
        now=call.now,
    )
    preview = None
    if record.content_type.startswith(TEXT_TYPES):
        preview = upload_flow.head_bytes(call.emu, record, PREVIEW_CHARS * 4).decode("utf-8", "replace")
    return record, preview


def create_source(call: Call) -> Reply:
    body = call.body
    if body["type"] == "text":
        source = _source(call, body["projectId"], body.get("name", "Untitled"), "text", body["text"])
        return Reply(200, {"data": source})
    record, preview = _redeem(call, f"{call.op.operation_id}:{call.request_id}")
    name = body.get("name") or f"Upload {record.id}"
    source = _source(call, body["projectId"], name, record.content_type, preview)
    job = _new_job(call, "SOURCE_INGEST_FILE", body["projectId"], {"sourceId": source["id"]}, record)
    return Reply(202, {"data": _job_view(call, job, queued=True)})


def create_knowledge_document(call: Call) -> Reply:
    body = call.body
    kind = body["type"]
    record = _redeem(call, f"{call.op.operation_id}:{call.request_id}")[0] if kind == "file" else None
    document = {
        "id": upload_flow.new_id("kb_"),
        "type": kind,
        "name": body.get("name"),
        "projectId": body.get("projectId"),
    }
    call.emu.resources.put(VENDOR, "document", _data_space(call), document)
    job_type = f"KB_INGEST_{kind.upper()}"
    job = _new_job(call, job_type, body.get("projectId"), {"documentId": document["id"]}, record)
    return Reply(202, {"data": _job_view(call, job, queued=True)})


def get_source(call: Call) -> Reply:
    source = call.emu.resources.get(VENDOR, "source", call.params["sourceId"], _data_space(call))
    if source is None:
        raise ApiError(errors.NOT_FOUND, f"Source {call.params['sourceId']} was not found.")
    return Reply(200, {"data": source})


def _find_job(call: Call) -> dict:
    job = call.emu.resources.get(VENDOR, "job", call.params["jobId"], _data_space(call))
    if job is None:
        raise ApiError(errors.NOT_FOUND, f"Job {call.params['jobId']} was not found.")
    return job


def get_job(call: Call) -> Reply:
    return Reply(200, {"data": _job_view(call, _find_job(call))})


def cancel_job(call: Call) -> Reply:
    job = _find_job(call)
    status = _job_view(call, job)["status"]
    if status != "QUEUED":
        raise ApiError(errors.UNPROCESSABLE, f"Job {job['id']} is {status}; only a QUEUED job can be cancelled.")
    call.emu.resources.update(VENDOR, "job", job["id"], _cancelled_at=call.now)
    record = call.emu.uploads.get(job["_upload"], vendor=VENDOR) if job["_upload"] else None
    if record is not None:
        call.emu.uploads.release(record)  # the upload it was ingesting can be redeemed again
    return Reply(200, {"data": _job_view(call, job)})


def _moment(call: Call, name: str):
    try:
        return parse_iso(call.params[name]) if name in call.params else None
    except ValueError:
        raise ApiError(errors.MALFORMED_REQUEST, f"{name} must be an ISO 8601 date-time.", field=name) from None


def list_jobs(call: Call) -> Reply:
    """Newest first, filtered by type, status now, and a createdAt range; pages by cursor."""
    params = call.params
    since, until = _moment(call, "dateFrom"), _moment(call, "dateTo")
    before = decode_cursor(params["cursor"], errors.MALFORMED_REQUEST) if "cursor" in params else None
    jobs = sorted(call.emu.resources.list(VENDOR, "job", _data_space(call)), key=lambda j: j["_seq"], reverse=True)
    chosen = []
    for job in jobs:
        if before is not None and job["_seq"] >= before:
            continue
        if params.get("type") not in (None, job["type"]):
            continue
        if (since and job["createdAt"] < since) or (until and job["createdAt"] > until):
            continue
        view = _job_view(call, job)
        if params.get("status") not in (None, view["status"]):
            continue
        chosen.append((job, view))
    limit = params.get("limit", 50)
    page, more = chosen[:limit], len(chosen) > limit
    return Reply(
        200,
        {
            "data": [view for _, view in page],
            "pagination": {"next_cursor": encode_cursor(page[-1][0]["_seq"]) if more else None, "has_more": more},
        },
    )


HANDLERS = {
    "getHealth": get_health,
    "getCurrentWorkspace": get_current_workspace,
    "createUpload": create_upload,
    "createSource": create_source,
    "createKnowledgeDocument": create_knowledge_document,
    "getSource": get_source,
    "getJob": get_job,
    "listJobs": list_jobs,
    "cancelJob": cancel_job,
}

DIALECTS = {"scripe": Dialect(error_body)}

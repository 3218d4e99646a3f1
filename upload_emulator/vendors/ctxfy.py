"""Ctxfy: what cannot be data — safe file keys, public URLs, API keys, sources and postbacks.

A source's status is computed from the emulator's clock when read (CREATED → PENDING →
PROCESSING → final), and its final state is decided at creation (COMPLETED, or what an
outcome rule says), so the postback can be scheduled then, for the moment it ends.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from upload_emulator.api import upload_flow
from upload_emulator.api.call import Call, Reply
from upload_emulator.core import errors
from upload_emulator.core.clock import isoformat, parse_iso
from upload_emulator.core.dialects import Dialect, field_details, reason_phrase
from upload_emulator.core.errors import ApiError, ErrorMapping
from upload_emulator.core.profiles import ApiKey, VendorProfile
from upload_emulator.services.records import UPLOADED, UploadRecord

VENDOR = "ctxfy"
FINAL = ("COMPLETED", "FAILED", "CANCELED")
# Work whose end a test may decide with POST /_emulator/outcomes.
OUTCOMES = {"source": FINAL}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def error_body(err: ApiError, m: ErrorMapping, request_id: str, profile: VendorProfile | None) -> dict:
    """`{error: <reason phrase>, message, code: <status>, details?: [{field, message}], requestId?}`."""
    body: dict[str, Any] = {"error": reason_phrase(m.status), "message": err.message, "code": m.status}
    details = [{"field": name, "message": message} for name, message in field_details(err)]
    if details:
        body["details"] = details
    if m.status >= 500:
        body["requestId"] = request_id
    return body


DIALECTS = {"ctxfy": Dialect(error_body)}


def safe_filename(name: str, limit: int) -> str:
    """A base name that cannot leave its prefix: no separators, `..`, controls or leading dots."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFKC", base) if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).lstrip(".")
    if len(base) > limit:
        _stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        base = base[: limit - len(keep) - 1] + "." + keep if keep else base[:limit]
    return base if base.strip("._-") else "file"


def _cfg(call: Call, section: str) -> dict[str, Any]:
    return call.profile.settings[section]


# --- meta -----------------------------------------------------------------------------
def get_health(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


def get_metrics(call: Call) -> Reply:
    records = call.emu.uploads.all(VENDOR)
    stored = sum(r.size or 0 for r in records if r.state == UPLOADED)
    lines = [
        "# HELP ctxfy_up Whether the (emulated) API is up.",
        "# TYPE ctxfy_up gauge",
        "ctxfy_up 1",
        "# HELP ctxfy_uploads Presigned uploads minted since the last reset.",
        "# TYPE ctxfy_uploads gauge",
        f"ctxfy_uploads {len(records)}",
        "# HELP ctxfy_uploaded_bytes Bytes stored by uploads since the last reset.",
        "# TYPE ctxfy_uploaded_bytes gauge",
        f"ctxfy_uploaded_bytes {stored}",
    ]
    return Reply(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")


# --- uploads --------------------------------------------------------------------------
def create_presigned_upload(call: Call) -> Reply:
    body, cfg = call.body, _cfg(call, "uploads")
    cap = upload_flow.cap_for(cfg["content_types"], body["contentType"])
    if cap is None:
        raise ApiError(
            errors.UNPROCESSABLE, f"contentType {body['contentType']!r} is not accepted.", field="contentType"
        )
    if body["size"] > cap:
        raise ApiError(errors.UNPROCESSABLE, f"size {body['size']} is over the {cap}-byte limit.", field="size")
    record = upload_flow.record_upload(
        call,
        upload_id=upload_flow.new_id("upl_", 20),
        content_type=body["contentType"],
        max_size_bytes=body["size"],  # the PUT may not be larger than the size declared here
        key_template=cfg["key_template"],
        key_fields={"filename": safe_filename(body["filename"], int(cfg["max_filename_chars"]))},
    )
    record.extra["public_read"] = True
    url = upload_flow.presign_put(call, record, ttl_s=int(cfg["url_ttl_s"]))
    public = upload_flow.object_url(call, record)
    return Reply(200, {"uploadUrl": url, "publicUrl": public, "fileKey": record.key})


# --- API keys -------------------------------------------------------------------------
def _key_view(call: Call, key: ApiKey) -> dict[str, Any]:
    revoked_at = key.revoked_at or (key.created_at if key.is_revoked else None)
    return {
        "id": key.id,
        "key_prefix": key.secret[: int(_cfg(call, "api_keys")["prefix_chars"])],
        "name": key.description,
        "expiration_date": isoformat(key.expires_at) if key.expires_at else None,
        "created_at": isoformat(key.created_at or call.now),
        "revoked_at": isoformat(revoked_at) if revoked_at else None,
    }


def _own_keys(call: Call) -> list[ApiKey]:
    return [k for k in call.emu.keys.all(VENDOR) if k.workspace == call.workspace.id]


def create_api_key(call: Call) -> Reply:
    body = call.body
    expires_at = None
    if body.get("expiration_date") is not None:
        try:
            expires_at = parse_iso(body["expiration_date"])
        except ValueError:
            raise ApiError(
                errors.MALFORMED_REQUEST, "expiration_date must be an ISO 8601 date-time.", field="expiration_date"
            ) from None
    # A past date is accepted and makes a key that is already expired: the docs do not say
    # otherwise, a schema cannot state "later than the emulator's clock", and such a key is
    # what a test of expiry handling needs.
    key = call.emu.keys.create_key(
        VENDOR, call.workspace.id, expires_at=expires_at, description=body["name"], created_at=call.now
    )
    return Reply(201, {**_key_view(call, key), "api_key": key.secret})


def list_api_keys(call: Call) -> Reply:
    page, per_page = call.params.get("page", 1), call.params.get("per_page", 20)
    keys = _own_keys(call)
    shown = keys[(page - 1) * per_page : page * per_page]
    return Reply(
        200,
        {
            "api_keys": [_key_view(call, k) for k in shown],
            "pagination": {
                "page": page,
                "per_page": per_page,
                "total": len(keys),
                "pages": math.ceil(len(keys) / per_page),
            },
        },
    )


def revoke_api_key(call: Call) -> Reply:
    key_id = call.params["keyId"]
    revoked = call.emu.keys.revoke(VENDOR, key_id, call.now) if any(k.id == key_id for k in _own_keys(call)) else None
    if revoked is None:
        raise ApiError(errors.NOT_FOUND, f"API key {key_id} was not found.")
    return Reply(200, _key_view(call, revoked))


# --- sources --------------------------------------------------------------------------
def _timeline(call: Call, created: datetime) -> list[tuple[datetime, str]]:
    cfg = _cfg(call, "sources")
    return [
        (created + timedelta(seconds=float(cfg[name])), status)
        for name, status in (("pending_s", "PENDING"), ("processing_s", "PROCESSING"), ("final_s", "FINAL"))
    ]


def _source_view(call: Call, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The source at `now`: the last step of its timeline that has been reached."""
    status, updated = "CREATED", item["_created"]
    for at, step in _timeline(call, item["_created"]):
        if now >= at:
            status, updated = (item["_final"] if step == "FINAL" else step), at
    view = {k: v for k, v in item.items() if not k.startswith("_")}
    view.update(
        status=status,
        created_at=isoformat(item["_created"]),
        updated_at=isoformat(updated),
        error=item["_error"] if status == "FAILED" else None,
    )
    return view


def _file_record(call: Call, file_key: str) -> UploadRecord:
    """The caller's uploaded file behind a fileKey (someone else's is as good as missing)."""
    record = call.emu.uploads.for_object(call.emu.bucket_for(VENDOR), file_key)
    field = "initial_data.data"
    if record is None or record.vendor != VENDOR or record.workspace != call.workspace.id:
        raise ApiError(errors.UPLOAD_NOT_REDEEMABLE, f"No uploaded file has the fileKey {file_key!r}.", field=field)
    if record.state != UPLOADED:
        raise ApiError(
            errors.UPLOAD_NOT_REDEEMABLE,
            f"The file {file_key!r} has no bytes yet: PUT it to its uploadUrl first.",
            field=field,
        )
    return record


def _check_initial_data(call: Call) -> None:
    body, data = call.body, call.body["initial_data"]
    if body["type"] == "FILE":
        _file_record(call, data["data"])
    elif body["type"] == "COMPOSITION":
        missing = [s for s in data["source_ids"] if _find_source(call, s) is None]
        if missing:
            raise ApiError(
                errors.UNPROCESSABLE, f"No source {missing[0]} for this key's owner.", field="initial_data.source_ids"
            )


def _find_source(call: Call, source_id: str) -> dict[str, Any] | None:
    return call.emu.resources.get(VENDOR, "source", source_id, call.workspace.id)


def create_source(call: Call) -> Reply:
    space_id, body = call.params["spaceId"], call.body
    if call.emu.resources.get(VENDOR, "space", space_id, call.workspace.id) is None:
        raise ApiError(errors.NOT_FOUND, f"Space {space_id} was not found.")
    _check_initial_data(call)
    decided = call.emu.outcomes.take(VENDOR, "source", {"type": body["type"], "name": body.get("name")})
    final = decided.result if decided else "COMPLETED"
    item = {
        "id": upload_flow.new_id("src_", 20),
        "space_id": space_id,
        "type": body["type"],
        "name": body.get("name") or f"{body['type'].title()} source",
        "description": body.get("description"),
        "collectionId": body.get("collectionId"),
        "initial_data": body["initial_data"],
        "instructions": body["instructions"],
        "_created": call.now,
        "_final": final,
        "_error": {
            "code": (decided.error_code if decided else None) or "PROCESSING_FAILED",
            "message": (decided.error_message if decided else None) or "The source could not be processed.",
        },
    }
    call.emu.resources.put(VENDOR, "source", call.workspace.id, item)
    postback = body["instructions"].get("postback_url")
    if postback:
        ends_at = _timeline(call, call.now)[-1][0]
        event = f"source.{final.lower()}"
        call.emu.callbacks.schedule(VENDOR, event, postback, _source_view(call, item, ends_at), ends_at)
    return Reply(201, _source_view(call, item, call.now))


def get_source(call: Call) -> Reply:
    item = _find_source(call, call.params["sourceId"])
    if item is None:
        raise ApiError(errors.NOT_FOUND, f"Source {call.params['sourceId']} was not found.")
    return Reply(200, _source_view(call, item, call.now))


HANDLERS = {
    "getHealth": get_health,
    "getMetrics": get_metrics,
    "createPresignedUpload": create_presigned_upload,
    "createApiKey": create_api_key,
    "listApiKeys": list_api_keys,
    "revokeApiKey": revoke_api_key,
    "createSource": create_source,
    "getSource": get_source,
}

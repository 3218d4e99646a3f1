"""Streamloop: what cannot be data — the upload record's life, pagination, imports.

An upload is a vendor record (name, type, …) over the shared upload record that the S3
endpoint fills: created → bytes PUT via a presigned URL → completed (`uploaded: true`).
Imports from a link finish on the emulator's clock; nothing is fetched.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from upload_emulator.api import upload_flow
from upload_emulator.api.call import Call, Reply
from upload_emulator.core import errors
from upload_emulator.core.clock import isoformat
from upload_emulator.core.cursors import decode_cursor, encode_cursor
from upload_emulator.core.errors import ApiError
from upload_emulator.services.records import REDEEMED, NotRedeemable

VENDOR = "streamloop"
KIND = "upload"
# Work whose end a test may decide with POST /_emulator/outcomes.
OUTCOMES = {"import": ("COMPLETED", "FAILED")}
DEFAULT_LIMIT = 20


def _cfg(call: Call, section: str = "uploads") -> dict[str, Any]:
    return call.profile.settings[section]


def refine_spec(document: dict, worlds: dict) -> None:
    """The fixture's MIME list per media type and the largest plan's size cap, in the schema;
    a smaller plan's cap stays a business rule, since it depends on the caller's workspace."""
    cfg = worlds[VENDOR].profile.settings["uploads"]
    create = document["components"]["schemas"]["CreateS3ObjectInput"]
    create["properties"]["fileSize"]["maximum"] = max(int(cap) for cap in cfg["plan_caps"].values())
    create["allOf"] = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"properties": {"mimeType": upload_flow.media_type_schema(cfg["mime_types"].get(kind) or [])}},
        }
        for kind in create["properties"]["type"]["enum"]
    ]


def _view(call: Call, item: dict, fresh: bool = False) -> dict:
    """The Upload as Streamloop shows it now (imports progress on the clock; `fresh`: just accepted)."""
    record = call.emu.uploads.get(item["id"], vendor=VENDOR)
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    out["createdAt"] = isoformat(item["_created"])
    if "externalSource" in item:
        import_s = float(_cfg(call, "from_link")["import_s"])
        done = not fresh and call.now >= item["_created"] + timedelta(seconds=import_s)
        status = item.get("_final", "COMPLETED") if done else "PENDING"
        out["externalSource"] = {**item["externalSource"], "state": {"status": status}}
        out["uploaded"] = status == "COMPLETED"
        return out
    out["uploaded"] = record is not None and record.state == REDEEMED
    if record is not None and out["uploaded"]:
        out["fileSize"] = record.size
    return out


def _find(call: Call) -> dict:
    item = call.emu.resources.get(VENDOR, KIND, call.params["id"], call.workspace.id)
    if item is None or item.get("_removed"):
        raise ApiError(errors.NOT_FOUND, f"Upload {call.params['id']} was not found.")
    return item


def _live(call: Call) -> dict:
    """The upload for a write: a deleted one is UPLOAD_REMOVED, not merely missing."""
    item = call.emu.resources.get(VENDOR, KIND, call.params["id"], call.workspace.id)
    if item is None:
        raise ApiError(errors.NOT_FOUND, f"Upload {call.params['id']} was not found.")
    if item.get("_removed"):
        raise ApiError(errors.UNPROCESSABLE, f"Upload {item['id']} was deleted.", code="UPLOAD_REMOVED")
    return item


def create_upload(call: Call) -> Reply:
    body, cfg = call.body, _cfg(call)  # the schema (refine_spec) holds the MIME list per type
    cap = int(cfg["plan_caps"].get(call.workspace.plan, min(cfg["plan_caps"].values())))
    if body.get("fileSize", 0) > cap:
        raise ApiError(
            errors.UNPROCESSABLE,
            f"fileSize {body['fileSize']} is over the {cap}-byte limit of the {call.workspace.plan} plan.",
            field="fileSize",
            code="FILE_TOO_LARGE",
        )
    upload_id = upload_flow.new_id("obj_")
    upload_flow.record_upload(
        call, upload_id=upload_id, content_type=body["mimeType"], max_size_bytes=cap, key_template=cfg["key_template"]
    )
    item = {
        "id": upload_id,
        "mimeType": body["mimeType"],
        "name": body["name"],
        "type": body["type"],
        "fileSize": body.get("fileSize"),
        "duration": body.get("duration"),
        "width": body.get("width"),
        "height": body.get("height"),
        "_created": call.now,
    }
    call.emu.resources.put(VENDOR, KIND, call.workspace.id, item)
    return Reply(201, _view(call, item))


def list_uploads(call: Call) -> Reply:
    limit = call.params.get("limit", DEFAULT_LIMIT)
    before = decode_cursor(call.params["cursor"]) if "cursor" in call.params else None
    items = sorted(
        (i for i in call.emu.resources.list(VENDOR, KIND, call.workspace.id) if not i.get("_removed")),
        key=lambda i: i["_seq"],
        reverse=True,
    )
    if before is not None:
        items = [i for i in items if i["_seq"] < before]
    page, more = items[:limit], len(items) > limit
    return Reply(
        200,
        {
            "data": [_view(call, i) for i in page],
            "page": {"hasMore": more, "nextCursor": encode_cursor(page[-1]["_seq"]) if more else None},
        },
    )


def get_upload(call: Call) -> Reply:
    return Reply(200, _view(call, _find(call)))


def delete_upload(call: Call) -> Reply:
    item = _find(call)
    call.emu.resources.update(VENDOR, KIND, item["id"], _removed=True)
    record = call.emu.uploads.get(item["id"], vendor=VENDOR)
    if record is not None:
        call.emu.uploads.remove(record)
        call.emu.storage.delete(record.bucket, record.key)
    return Reply(204)


def generate_upload_url(call: Call) -> Reply:
    item = _live(call)
    record = call.emu.uploads.get(item["id"], vendor=VENDOR)
    if record is None or record.state == REDEEMED:  # an import, or already complete: nothing to upload
        return Reply(200, b"null")
    url = upload_flow.presign_put(call, record, ttl_s=int(_cfg(call)["url_ttl_s"]))
    return Reply(200, url)


def complete_upload(call: Call) -> Reply:
    item = _live(call)
    if "externalSource" in item:
        raise ApiError(errors.CONFLICT, "Imported uploads complete on their own.", code="UPLOAD_ALREADY_COMPLETED")
    try:
        call.emu.uploads.redeem(item["id"], call.workspace.id, call.request_id, call.now)
    except NotRedeemable as why:
        if why.reason == "used":
            raise ApiError(
                errors.CONFLICT, f"Upload {item['id']} is already complete.", code="UPLOAD_ALREADY_COMPLETED"
            ) from None
        raise ApiError(
            errors.CONFLICT,
            f"Upload {item['id']} has no bytes yet: PUT the file to its upload URL, then complete it.",
            code="UPLOAD_INCOMPLETE",
        ) from None
    return Reply(200, _view(call, item))


def create_upload_from_link(call: Call) -> Reply:
    body, cfg = call.body, _cfg(call, "from_link")
    upload_id = upload_flow.new_id("obj_")
    try:
        link = urlsplit(body["url"])
    except ValueError:  # the spec's pattern keeps brackets out of the host; this guards a looser copy of it
        raise ApiError(errors.UNPROCESSABLE, "url is not a valid link.", field="url") from None
    name = link.path.rstrip("/").rsplit("/", 1)[-1] or "Imported media"
    decided = call.emu.outcomes.take(VENDOR, "import", {"type": body["type"], "url": body["url"]})
    item = {
        "id": upload_id,
        "mimeType": cfg["mime_types"][body["type"]],
        "name": name,
        "type": body["type"].lower(),
        "fileSize": None,
        "externalSource": {"url": body["url"], "quality": body.get("quality")},
        "_created": call.now,
        "_final": decided.result if decided else "COMPLETED",
    }
    call.emu.resources.put(VENDOR, KIND, call.workspace.id, item)
    location = f"{call.vendor.mount_path}/uploads/{upload_id}"
    return Reply(202, _view(call, item, fresh=True), headers={"Location": location})


def get_status(call: Call) -> Reply:
    return Reply(200, {"status": "ok"})


def get_openapi_document(call: Call) -> Reply:
    return Reply(200, call.vendor.spec.served_document(call.request.host_url.rstrip("/") + call.vendor.mount_path))


HANDLERS = {
    "getStatus": get_status,
    "getOpenApiDocument": get_openapi_document,
    "createUpload": create_upload,
    "listUploads": list_uploads,
    "getUpload": get_upload,
    "deleteUpload": delete_upload,
    "generateUploadUrl": generate_upload_url,
    "completeUpload": complete_upload,
    "createUploadFromLink": create_upload_from_link,
}

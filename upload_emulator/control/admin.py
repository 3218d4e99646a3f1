"""The control plane under /_emulator/, routed from specs/emulator.yaml like a vendor.

It uses the same services the vendors do (moto-api style), so what a test sees here is
exactly the state the vendor endpoints act on.
"""

from __future__ import annotations

from pathlib import Path

from upload_emulator.api.call import Call, Reply
from upload_emulator.api.upload_flow import new_id, s3_endpoint
from upload_emulator.control.metrics import exposition
from upload_emulator.core import errors
from upload_emulator.core.clock import isoformat, parse_iso
from upload_emulator.core.errors import ApiError
from upload_emulator.core.profiles import CONTROL_PLANE, ApiKey, VendorProfile
from upload_emulator.core.version import __version__
from upload_emulator.services.faults import S3

NAME = CONTROL_PLANE
PROFILE = VendorProfile(name=NAME, dialect="problem+json", spec="emulator")


def refine_spec(document: dict, worlds: dict, steerable: dict[str, dict]) -> None:
    """Name the served vendors in the control API's schema, and for each one whose async work
    can be steered (`steerable`: vendor -> its module's OUTCOMES), the kinds of that work and
    how each may end."""
    schemas = document["components"]["schemas"]
    schemas["Vendor"]["enum"] = list(worlds)
    schemas["FaultVendor"]["enum"] = [*worlds, S3]
    steerable = {vendor: kinds for vendor, kinds in steerable.items() if kinds}
    rule = schemas["OutcomeRule"]
    rule["properties"]["vendor"]["enum"] = list(steerable)
    rule["allOf"] = [
        _when({"vendor": vendor}, {"kind": {"enum": list(kinds)}}) for vendor, kinds in steerable.items()
    ] + [
        _when({"vendor": vendor, "kind": kind}, {"result": {"enum": list(results)}})
        for vendor, kinds in steerable.items()
        for kind, results in kinds.items()
    ]


def _when(fields: dict, then: dict) -> dict:
    """`if` every field equals its value `then` these property rules."""
    return {
        "if": {"properties": {k: {"const": v} for k, v in fields.items()}, "required": list(fields)},
        "then": {"properties": then},
    }


def _key_json(call: Call, key: ApiKey) -> dict:
    workspace = call.emu.keys.workspace(key.vendor, key.workspace)
    return {
        "id": key.id,
        "key": key.secret,
        "vendor": key.vendor,
        "workspace": key.workspace,
        "plan": workspace.plan if workspace else None,
        "scopes": sorted(key.scopes),
        "status": key.status,
        "kind": key.kind,
        "expiresAt": isoformat(key.expires_at) if key.expires_at else None,
        "description": key.description,
    }


def get_emulator_health(call: Call) -> Reply:
    root = call.request.host_url.rstrip("/")
    vendors = [
        {"name": v.name, "baseUrl": root + v.mount_path} for v in call.emu.vendors.values() if not v.is_control_plane
    ]
    buckets = {v["name"]: call.emu.bucket_for(v["name"]) for v in vendors}
    return Reply(
        200,
        {
            "status": "ok",
            "version": __version__,
            "vendors": vendors,
            "s3Endpoint": s3_endpoint(call.request.scheme, call.request.host),
            "buckets": buckets,
        },
    )


def reset_emulator(call: Call) -> Reply:
    call.emu.reset()
    return Reply(204)


def _clock(call: Call) -> dict:
    return {"now": isoformat(call.emu.clock.now()), "frozen": call.emu.clock.is_frozen}


def get_clock(call: Call) -> Reply:
    return Reply(200, _clock(call))


def set_clock(call: Call) -> Reply:
    body = call.body or {}
    if "frozen" in body:
        (call.emu.clock.freeze if body["frozen"] else call.emu.clock.unfreeze)()
    if "advanceSeconds" in body:
        call.emu.clock.advance(body["advanceSeconds"])
    return Reply(200, _clock(call))


def list_keys(call: Call) -> Reply:
    return Reply(200, {"data": [_key_json(call, k) for k in call.emu.keys.all(call.params.get("vendor"))]})


def _expiry(body: dict):
    """The body's `expiresAt` as a datetime (None when absent or null)."""
    try:
        return parse_iso(body["expiresAt"]) if body.get("expiresAt") is not None else None
    except ValueError:
        raise ApiError(errors.MALFORMED_REQUEST, "expiresAt must be an ISO 8601 date-time", field="expiresAt") from None


def create_key(call: Call) -> Reply:
    body = call.body
    expires_at = _expiry(body)
    key = call.emu.keys.create_key(
        body["vendor"],
        body["workspace"],
        scopes=body.get("scopes"),
        status=body.get("status", "active"),
        plan=body.get("plan"),
        expires_at=expires_at,
        kind=body.get("kind", "api_key"),
        description=body.get("description", ""),
        created_at=call.now,
    )
    return Reply(201, _key_json(call, key))


def list_uploads(call: Call) -> Reply:
    params = call.params
    records = [
        r.as_json()
        for r in call.emu.uploads.all(params.get("vendor"))
        if params.get("workspace") in (None, r.workspace) and params.get("state") in (None, r.state)
    ]
    return Reply(200, {"data": records})


def _record(call: Call):
    record = call.emu.uploads.get(call.params["uploadId"])
    if record is None:
        raise ApiError(errors.NOT_FOUND, f"no upload {call.params['uploadId']}")
    return record


def get_upload(call: Call) -> Reply:
    return Reply(200, _record(call).as_json())


def get_upload_content(call: Call) -> Reply:
    record = _record(call)
    obj = call.emu.storage.head(record.bucket, record.key)
    if obj is None:
        raise ApiError(errors.NOT_FOUND, f"upload {record.id} has no stored bytes (state: {record.state})")
    chunks = call.emu.storage.iter_content(record.bucket, record.key)
    return Reply(200, chunks, obj.content_type, {"Content-Length": str(obj.size), "ETag": obj.etag})


def list_requests(call: Call) -> Reply:
    p = call.params
    found = call.emu.journal.entries(
        limit=p.get("limit"), vendor=p.get("vendor"), operationId=p.get("operationId"), status=p.get("status")
    )
    return Reply(200, {"data": found})


def clear_requests(call: Call) -> Reply:
    call.emu.journal.clear()
    return Reply(204)


def create_fault(call: Call) -> Reply:
    body = call.body  # the schema holds the rules: a served vendor, something to do, closeAfterBytes on s3 only
    rule = call.emu.faults.add(
        vendor=body["vendor"],
        operation_id=body.get("operationId"),
        path=body.get("path"),
        status=body.get("status"),
        code=body.get("code"),
        times=body.get("times"),
        delay_ms=body.get("delayMs", 0),
        probability=body.get("probability", 1.0),
        close_after_bytes=body.get("closeAfterBytes"),
    )
    return Reply(201, rule.as_json())


def list_faults(call: Call) -> Reply:
    return Reply(200, {"data": [rule.as_json() for rule in call.emu.faults.all()]})


def clear_faults(call: Call) -> Reply:
    call.emu.faults.clear()
    return Reply(204)


def delete_fault(call: Call) -> Reply:
    if not call.emu.faults.remove(call.params["faultId"]):
        raise ApiError(errors.NOT_FOUND, f"no fault {call.params['faultId']}")
    return Reply(204)


def change_key(call: Call) -> Reply:
    """Revoke, reactivate or (re)set the expiry of any vendor's key, as a test needs mid-run."""
    body, key_id = call.body, call.params["keyId"]
    owner = next((k.vendor for k in call.emu.keys.all() if k.id == key_id), None)
    changes: dict = {}
    if "status" in body:
        changes["status"] = body["status"]
        changes["revoked_at"] = call.now if body["status"] == "revoked" else None
    if "expiresAt" in body:
        changes["expires_at"] = _expiry(body)
    key = call.emu.keys.change(owner, key_id, **changes) if owner else None
    if key is None:
        raise ApiError(errors.NOT_FOUND, f"no key {key_id}")
    return Reply(200, _key_json(call, key))


def create_outcome(call: Call) -> Reply:
    """A vendor lists the work a test may steer and how it may end (`OUTCOMES` in its module)."""
    body = call.body  # the schema (see refine_spec) holds each vendor's kinds and results
    vendor = body["vendor"]
    rule = call.emu.outcomes.add(
        vendor=vendor,
        kind=body["kind"],
        result=body["result"],
        match=dict(body.get("match") or {}),
        error_code=body.get("errorCode"),
        error_message=body.get("errorMessage"),
        times=body.get("times"),
    )
    return Reply(201, rule.as_json())


def list_outcomes(call: Call) -> Reply:
    return Reply(200, {"data": [rule.as_json() for rule in call.emu.outcomes.all()]})


def clear_outcomes(call: Call) -> Reply:
    call.emu.outcomes.clear()
    return Reply(204)


def delete_outcome(call: Call) -> Reply:
    if not call.emu.outcomes.remove(call.params["outcomeId"]):
        raise ApiError(errors.NOT_FOUND, f"no outcome {call.params['outcomeId']}")
    return Reply(204)


def list_deliveries(call: Call) -> Reply:
    found = call.emu.callbacks.all(call.params.get("vendor"))
    return Reply(200, {"data": [d.as_json() for d in found]})


def create_space(call: Call) -> Reply:
    """A space (Ctxfy's container for sources) in a workspace, as the vendor's dashboard would make."""
    body = call.body
    vendor = body["vendor"]  # a served vendor: the schema's enum
    space = {"id": new_id("spc_", 20), "name": body.get("name") or "Space"}
    call.emu.resources.put(vendor, "space", body["workspace"], space)
    return Reply(201, {"id": space["id"], "vendor": vendor, "workspace": body["workspace"], "name": space["name"]})


def get_metrics(call: Call) -> Reply:
    return Reply(200, exposition(call.emu), "text/plain; version=0.0.4; charset=utf-8")


def get_viewer(call: Call) -> Reply:
    """The journal viewer: one self-contained page shipped inside the package."""
    page = (Path(__file__).resolve().parent / "viewer.html").read_bytes()
    return Reply(200, page, "text/html; charset=utf-8", {"Cache-Control": "no-store"})


HANDLERS = {
    "getMetrics": get_metrics,
    "getViewer": get_viewer,
    "changeKey": change_key,
    "createOutcome": create_outcome,
    "listOutcomes": list_outcomes,
    "clearOutcomes": clear_outcomes,
    "deleteOutcome": delete_outcome,
    "listDeliveries": list_deliveries,
    "createSpace": create_space,
    "createFault": create_fault,
    "listFaults": list_faults,
    "clearFaults": clear_faults,
    "deleteFault": delete_fault,
    "getEmulatorHealth": get_emulator_health,
    "resetEmulator": reset_emulator,
    "getClock": get_clock,
    "setClock": set_clock,
    "listKeys": list_keys,
    "createKey": create_key,
    "listUploads": list_uploads,
    "getUpload": get_upload,
    "getUploadContent": get_upload_content,
    "listRequests": list_requests,
    "clearRequests": clear_requests,
}

"""Which surface a path belongs to (a vendor, the S3 endpoint, the control plane), and how an answer
made outside a vendor's pipeline is journaled and sent there."""

from __future__ import annotations

from flask import Response
from flask.globals import request_ctx

from upload_emulator.api import journal_entry
from upload_emulator.api.upload_flow import S3_MOUNT
from upload_emulator.core.dialects import Rendered
from upload_emulator.core.profiles import CONTROL_PLANE
from upload_emulator.services.emulator import Emulator, Vendor


def vendor_for_path(emu: Emulator, path: str) -> Vendor:
    """The vendor whose mount holds `path` (longest mount wins); in single-vendor mode that
    vendor owns every path outside the control plane; the control plane otherwise."""
    control = emu.vendors[CONTROL_PLANE]
    if path == control.mount_path or path.startswith(control.mount_path + "/"):
        return control
    single = emu.settings.single_vendor
    if single:
        return emu.vendors[single]
    candidates = sorted(emu.vendors.values(), key=lambda v: len(v.mount_path), reverse=True)
    for vendor in candidates:
        mount = vendor.mount_path or vendor.prefix
        if mount and (path == mount or path.startswith(mount + "/")):
            return vendor
    return control


def is_s3(path: str) -> bool:
    return path == S3_MOUNT or path.startswith(S3_MOUNT + "/")


def answer(rendered: Rendered, request_id: str) -> Response:
    """A rendered error as a response, with its request id."""
    return Response(
        rendered.body, status=rendered.status, content_type=rendered.content_type, headers={"X-Request-Id": request_id}
    )


def cors_applies(emu: Emulator, path: str) -> bool:
    return is_s3(path) or not vendor_for_path(emu, path).is_control_plane


def record_other(
    emu: Emulator, vendor: str, operation: str, status: int, code: str | None, request_id: str, started: float
) -> None:
    """Journal and log a request no spec operation served (a preflight, the index, a routing error)."""
    req = request_ctx.request
    journal_entry.note(
        emu,
        req,
        vendor=vendor,
        operation=operation,
        status=status,
        code=code,
        request_id=request_id,
        started=started,
        origin=req.headers.get("Origin"),
    )

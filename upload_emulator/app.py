"""The application factory: one Emulator, one blueprint per vendor, the S3 endpoint, the admin API.

Vendor routes are built from each vendor's spec; `create_app` refuses to start when a
spec operation has no handler or a handler has no operation, so code and spec cannot drift.
"""

from __future__ import annotations

import contextlib
import logging
import time
from http import HTTPStatus

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from upload_emulator import admin, errors, pipeline, s3api
from upload_emulator.clock import isoformat
from upload_emulator.dialects import render, render_s3
from upload_emulator.errors import ApiError
from upload_emulator.runtime import Emulator, Vendor
from upload_emulator.settings import Settings
from upload_emulator.spec import Operation
from upload_emulator.uploads import S3_MOUNT
from upload_emulator.vendors import handlers_for

log = logging.getLogger("upload_emulator")


class SpecMismatch(RuntimeError):
    """The spec and the handlers disagree about which operations exist."""


def _view(emu: Emulator, vendor: Vendor, op: Operation):
    def view(**path_params: str):
        call = pipeline.Call(
            emu=emu,
            vendor=vendor,
            op=op,
            request=request,
            path_params=path_params,
            request_id=pipeline.new_request_id(vendor.profile.request_id_prefix),
            now=emu.clock.now(),
            started=time.perf_counter(),
        )
        return pipeline.handle(call)

    view.__name__ = op.operation_id
    return view


def _mount(app: Flask, emu: Emulator, vendor: Vendor) -> None:
    operations = {op.operation_id for op in vendor.spec.operations}
    missing, extra = operations - vendor.handlers.keys(), vendor.handlers.keys() - operations
    if missing or extra:
        raise SpecMismatch(
            f"{vendor.name}: operations without a handler {sorted(missing)}, "
            f"handlers without an operation {sorted(extra)}"
        )
    bp = Blueprint(vendor.name, __name__, url_prefix=vendor.mount_path or None)
    for op in vendor.spec.operations:
        bp.add_url_rule(
            op.flask_rule,
            endpoint=op.operation_id,
            view_func=_view(emu, vendor, op),
            methods=[op.method],
            strict_slashes=False,
        )
    app.register_blueprint(bp)

    def served_spec():
        mount_url = request.host_url.rstrip("/") + vendor.mount_path
        return jsonify(vendor.spec.served_document(mount_url))

    spec_url = (vendor.mount_path if vendor.is_control_plane else vendor.prefix) + "/openapi.json"
    app.add_url_rule(spec_url, endpoint=f"{vendor.name}_openapi", view_func=served_spec)
    emu.vendors[vendor.name] = vendor


def _vendor_for_path(emu: Emulator, path: str) -> Vendor:
    """The vendor whose mount holds `path` (longest mount wins); in single-vendor mode that
    vendor owns every path outside the control plane; the control plane otherwise."""
    control = emu.vendors[admin.NAME]
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


def _reason_phrase(response: Response) -> Response:
    """`403 Forbidden`, as S3 and the vendors send it (werkzeug's own table says `403 FORBIDDEN`)."""
    with contextlib.suppress(ValueError):  # a status Python does not know keeps werkzeug's wording
        response.status = f"{response.status_code} {HTTPStatus(response.status_code).phrase}"
    return response


def _routing_error(emu: Emulator, exc: HTTPException):
    vendor = _vendor_for_path(emu, request.path)
    request_id = pipeline.new_request_id(vendor.profile.request_id_prefix)
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        err = ApiError(
            errors.METHOD_NOT_ALLOWED,
            f"{request.method} is not allowed on {request.path}; use {allowed}.",
            headers={"Allow": allowed},
        )
    else:
        err = ApiError(errors.NOT_FOUND, f"No route {request.method} {request.path}.")
    try:
        limits = pipeline.charge(emu, vendor, request, "", emu.clock.now())
    except ApiError as limited:
        err, limits = limited, {}
    rendered = render(err, vendor.profile, request_id)
    if not vendor.is_control_plane:
        emu.journal.record(
            at=isoformat(emu.clock.now()),
            requestId=request_id,
            vendor=vendor.name,
            method=request.method,
            path=request.path,
            status=rendered.status,
            errorCode=rendered.code,
            requestBodyBytes=request.content_length or 0,
        )
    headers = {
        "X-Request-Id": request_id,
        **limits,
        **pipeline.version_echo(vendor.profile, request.headers),
        **rendered.headers,
    }
    return rendered.body, rendered.status, {"Content-Type": rendered.content_type, **headers}


def _unexpected(emu: Emulator, exc: Exception):
    """A bug outside a vendor pipeline: log it, tell the tests, answer without a traceback."""
    if isinstance(exc, HTTPException):
        return exc
    log.exception("unhandled error on %s %s", request.method, request.path)
    emu.record_server_error(f"{request.method} {request.path}: {type(exc).__name__}: {exc}")
    request_id = pipeline.new_request_id()
    if request.path == S3_MOUNT or request.path.startswith(S3_MOUNT + "/"):
        rendered = render_s3(
            ApiError(errors.INTERNAL, "We encountered an internal error. Please try again."), request_id
        )
    else:
        rendered = render(ApiError(errors.INTERNAL), _vendor_for_path(emu, request.path).profile, request_id)
    return rendered.body, rendered.status, {"Content-Type": rendered.content_type, "X-Request-Id": request_id}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    settings = settings.with_changes(vendors=settings.served_vendors)
    emu = Emulator(settings)
    app = Flask("upload_emulator")
    app.extensions["upload_emulator"] = emu
    for name in settings.vendors:
        prefix = "" if settings.single_vendor else f"/{name}"
        world = emu.worlds[name]
        _mount(app, emu, Vendor(name, world.profile, emu.spec(world.profile.spec), handlers_for(name), prefix))
    _mount(app, emu, Vendor(admin.NAME, admin.PROFILE, emu.spec("emulator"), handlers_for(admin.NAME), ""))
    app.register_blueprint(s3api.blueprint())
    app.register_error_handler(404, lambda exc: _routing_error(emu, exc))
    app.register_error_handler(405, lambda exc: _routing_error(emu, exc))
    app.register_error_handler(Exception, lambda exc: _unexpected(emu, exc))
    app.after_request(_reason_phrase)
    app.wsgi_app = s3api.ConnectionCutter(app.wsgi_app)  # type: ignore[method-assign]
    return app


def emulator_of(app: Flask) -> Emulator:
    return app.extensions["upload_emulator"]

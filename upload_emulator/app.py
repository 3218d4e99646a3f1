"""The application factory: one Emulator, one blueprint per vendor, the S3 endpoint, the admin API.

Vendor routes are built from each vendor's spec; `create_app` refuses to start when a
spec operation has no handler or a handler has no operation, so code and spec cannot drift.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

from flask import Blueprint, Flask, Request, Response, current_app, jsonify, request
from flask.globals import request_ctx
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from upload_emulator import __version__, admin, cors, errors, localonly, pipeline, requestlog, s3
from upload_emulator.dialects import Rendered, render, render_s3
from upload_emulator.errors import ApiError
from upload_emulator.runtime import Emulator, Vendor
from upload_emulator.serving import contract
from upload_emulator.settings import Settings
from upload_emulator.spec import Operation
from upload_emulator.uploads import S3_MOUNT
from upload_emulator.vendors import handlers_for

log = logging.getLogger("upload_emulator")


class SpecMismatch(RuntimeError):
    """The spec and the handlers disagree about which operations exist."""


def _view(emu: Emulator, vendor: Vendor, op: Operation):
    def view(**path_params: str):
        # the request object itself, not the `flask.request` proxy: the pipeline reads it often
        return pipeline.run(emu, vendor, op, request_ctx.request, path_params)

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


def _is_s3(path: str) -> bool:
    return path == S3_MOUNT or path.startswith(S3_MOUNT + "/")


def _finish_response(emu: Emulator, response: Response) -> Response:
    """Flask's side of `finish`, plus one fix only a Flask-routed OPTIONS needs."""
    req = request_ctx.request
    if req.method == "OPTIONS" and "Allow" in response.headers and req.url_rule is not None:
        # werkzeug lists the methods of every route the path matches: /uploads/from-link would
        # also offer /uploads/{id}'s GET and DELETE. The answer is the matched path's own methods.
        template = req.url_rule.rule
        methods = set().union(*(r.methods or () for r in current_app.url_map.iter_rules() if r.rule == template))
        response.headers["Allow"] = ", ".join(sorted(methods))
    finish(emu, request, response)
    return response


def finish(emu: Emulator, req: Request, response: Response) -> Response:
    """For every answer (changed in place, and handed back): the reason phrase S3 and the vendors
    send (`403 Forbidden`, where werkzeug says `403 FORBIDDEN`), and CORS headers for an allowed
    browser origin outside the control plane."""
    phrase = _PHRASES.get(response.status_code)
    if phrase is not None:  # a status Python does not know keeps werkzeug's wording
        response.status = phrase
    origin = req.headers.get("Origin")
    wanted = origin and "Access-Control-Allow-Origin" not in response.headers and _cors_applies(emu, req.path)
    if wanted and cors.origin_allowed(origin, emu.settings.cors_origins):
        response.headers.update(cors.response_headers(origin or ""))
    return response


_PHRASES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _answer(rendered: Rendered, request_id: str) -> Response:
    """A rendered error as a response, with its request id."""
    return Response(
        rendered.body, status=rendered.status, content_type=rendered.content_type, headers={"X-Request-Id": request_id}
    )


def _cors_applies(emu: Emulator, path: str) -> bool:
    return _is_s3(path) or not _vendor_for_path(emu, path).is_control_plane


def _record_other(
    emu: Emulator, vendor: str, operation: str, status: int, code: str | None, request_id: str, started: float
) -> None:
    """Journal and log a request no spec operation served (a preflight, the index, a routing error)."""
    req = request_ctx.request
    requestlog.note(
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


def _before(emu: Emulator, req: Request) -> Response | None:
    """Every request, before routing's answer counts: admitted by the server, a preflight, the control plane's guard."""
    return _admit(emu, req) or _preflight(emu, req) or guard_control_plane(emu, req)


def _admit(emu: Emulator, req: Request) -> Response | None:
    """Before anything else: a request the server refused to frame (`contract.REJECTED`), or found
    no room for (`contract.REFUSED`), is answered at once in its surface's shape, body unread."""
    rejection = contract.rejection(req.environ)
    if rejection is not None:
        err = ApiError(errors.MALFORMED_REQUEST, rejection.reason, status=rejection.status)
    elif contract.refused(req.environ):
        err = pipeline.busy()
    else:
        return None
    started = time.perf_counter()
    if _is_s3(req.path):
        return s3.answer_before_routing(err, rejection.status if rejection else None)
    vendor = _vendor_for_path(emu, req.path)
    request_id = pipeline.new_request_id(vendor.profile.request_id_prefix)
    rendered = render(err, vendor.profile, request_id)
    operation = req.url_rule.endpoint.rpartition(".")[2] if req.url_rule is not None else ""
    _record_other(
        emu,
        "emulator" if vendor.is_control_plane else vendor.name,
        operation,
        rendered.status,
        rendered.code,
        request_id,
        started,
    )
    return _answer(rendered, request_id)


def _preflight(emu: Emulator, req: Request) -> Response | None:
    """Answer a CORS preflight (and journal it) before any route sees it; other requests pass."""
    if not cors.is_preflight(req.method, req.headers):
        return None
    started = time.perf_counter()
    origin = req.headers.get("Origin")
    vendor = None if _is_s3(req.path) else _vendor_for_path(emu, req.path)
    name = "s3" if vendor is None else vendor.name
    request_id = pipeline.new_request_id(vendor.profile.request_id_prefix if vendor else "req_")
    if _cors_applies(emu, req.path) and cors.origin_allowed(origin, emu.settings.cors_origins):
        _record_other(emu, name, "preflight", 204, None, request_id, started)
        return Response(
            b"",
            status=204,
            headers={**cors.preflight_headers(origin or "", req.headers), "X-Request-Id": request_id},
        )
    err = ApiError(errors.CORS_FORBIDDEN)
    rendered = render_s3(err, request_id) if vendor is None else render(err, vendor.profile, request_id)
    _record_other(emu, name, "preflight", rendered.status, rendered.code, request_id, started)
    return _answer(rendered, request_id)


def guard_control_plane(emu: Emulator, req: Request) -> Response | None:
    """Refuse a foreign Host, a cross-site write or a missing token before the control plane sees it."""
    control = emu.vendors[admin.NAME]
    if not (req.path == control.mount_path or req.path.startswith(control.mount_path + "/")):
        return None
    why = localonly.refusal(emu.settings, req.method, req.headers, req.host)
    if why is None:
        return None
    request_id = pipeline.new_request_id()
    log.warning("control API refused %s %s: %s", req.method, req.path, why)
    rendered = render(ApiError(errors.CONTROL_FORBIDDEN, why), control.profile, request_id)
    return _answer(rendered, request_id)


def _index(emu: Emulator):
    """`GET /`: what is served here, for a person who opened the emulator's address."""
    started, request_id = time.perf_counter(), pipeline.new_request_id()
    root = request.host_url.rstrip("/")
    body = {
        "name": "upload-emulator",
        "version": __version__,
        "vendors": [
            {"name": v.name, "baseUrl": root + v.mount_path, "openapi": f"{root}{v.prefix}/openapi.json"}
            for v in emu.vendors.values()
            if not v.is_control_plane
        ],
        "s3Endpoint": root + S3_MOUNT,
        "controlApi": root + "/_emulator",
        "viewer": root + "/_emulator/ui",
        "metrics": root + "/_emulator/metrics",
    }
    _record_other(emu, "emulator", "index", 200, None, request_id, started)
    return jsonify(body), 200, {"X-Request-Id": request_id}


def _routing_error(emu: Emulator, exc: HTTPException):
    started = time.perf_counter()
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
        _record_other(emu, vendor.name, "", rendered.status, rendered.code, request_id, started)
    elif not request.path.startswith(vendor.mount_path + "/"):  # no vendor's path at all: a wrong base path
        _record_other(emu, "emulator", "", rendered.status, rendered.code, request_id, started)
    headers = {
        "X-Request-Id": request_id,
        **limits,
        **pipeline.version_echo(vendor.profile, request.headers),
        **rendered.headers,
    }
    return rendered.body, rendered.status, {"Content-Type": rendered.content_type, **headers}


def _unexpected(emu: Emulator, exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    return unexpected(emu, request, exc)


def unexpected(emu: Emulator, req: Request, exc: Exception) -> Response:
    """A bug outside a vendor pipeline: log it, tell the tests, answer without a traceback."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    emu.record_server_error(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
    request_id = pipeline.new_request_id()
    if req.path == S3_MOUNT or req.path.startswith(S3_MOUNT + "/"):
        rendered = render_s3(
            ApiError(errors.INTERNAL, "We encountered an internal error. Please try again."), request_id
        )
    else:
        rendered = render(ApiError(errors.INTERNAL), _vendor_for_path(emu, req.path).profile, request_id)
    return _answer(rendered, request_id)


class _NoSessions(SessionInterface):
    """No request has a session (nothing here uses one): no cookie is read or written."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None

    def save_session(self, app: Flask, session, response: Response) -> None:
        return None


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
    app.register_blueprint(s3.blueprint())
    app.register_error_handler(404, lambda exc: _routing_error(emu, exc))
    app.register_error_handler(405, lambda exc: _routing_error(emu, exc))
    app.register_error_handler(Exception, lambda exc: _unexpected(emu, exc))
    app.before_request(lambda: _before(emu, request_ctx.request))
    app.after_request(lambda response: _finish_response(emu, response))
    app.session_interface = _NoSessions()
    if not settings.single_vendor:
        app.add_url_rule("/", endpoint="index", view_func=lambda: _index(emu), methods=["GET"])
    return app


def emulator_of(app: Flask) -> Emulator:
    return app.extensions["upload_emulator"]

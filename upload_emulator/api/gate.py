"""What every request meets before its route and after its answer: admission (what the server refused),
CORS preflights, the control plane's guard; then the reason phrase and CORS headers on every answer."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

from flask import Request, Response, current_app, request
from flask.globals import request_ctx

from upload_emulator.api import access, pipeline
from upload_emulator.api.call import new_request_id
from upload_emulator.api.surfaces import answer, cors_applies, is_s3, record_other, vendor_for_path
from upload_emulator.core import errors
from upload_emulator.core.dialects import render, render_s3
from upload_emulator.core.errors import ApiError
from upload_emulator.core.profiles import CONTROL_PLANE
from upload_emulator.services.emulator import Emulator
from upload_emulator.serving import contract

log = logging.getLogger("upload_emulator")


def before(emu: Emulator, req: Request) -> Response | None:
    """Every request, before routing's answer counts: admitted by the server, a preflight, the control plane's guard."""
    return _admit(emu, req) or guard_host(emu, req) or _preflight(emu, req) or guard_control_plane(emu, req)


def _admit(emu: Emulator, req: Request) -> Response | None:
    """Before anything else: a request the server refused to frame (`contract.REJECTED`), or found
    no room for (`contract.REFUSED`), is answered at once in its surface's shape, body unread."""
    rejection = contract.rejection(req.environ)
    if is_s3(req.path):
        return None  # the S3 endpoint answers in its own XML (s3.call.answer_before_routing)
    if rejection is not None:
        err = ApiError(errors.MALFORMED_REQUEST, rejection.reason, status=rejection.status)
    elif contract.refused(req.environ):
        err = pipeline.busy()
    else:
        return None
    return _refused(emu, req, vendor_for_path(emu, req.path), err, time.perf_counter())


def _refused(emu: Emulator, req: Request, vendor, err: ApiError, started: float) -> Response:
    """An answer made before routing, journaled: in the vendor's shape, or S3's XML (`vendor` None)."""
    if vendor is None:
        request_id = new_request_id("req_")
        rendered, name = render_s3(err, request_id), "s3"
    else:
        request_id = new_request_id(vendor.profile.request_id_prefix)
        rendered = render(err, vendor.profile, request_id)
        name = "emulator" if vendor.is_control_plane else vendor.name
    operation = req.url_rule.endpoint.rpartition(".")[2] if req.url_rule is not None else ""
    record_other(emu, name, operation, rendered.status, rendered.code, request_id, started)
    return answer(rendered, request_id)


def _preflight(emu: Emulator, req: Request) -> Response | None:
    """Answer a CORS preflight (and journal it) before any route sees it; other requests pass."""
    if not access.is_preflight(req.method, req.headers):
        return None
    started = time.perf_counter()
    origin = req.headers.get("Origin")
    vendor = None if is_s3(req.path) else vendor_for_path(emu, req.path)
    name = "s3" if vendor is None else vendor.name
    request_id = new_request_id(vendor.profile.request_id_prefix if vendor else "req_")
    if cors_applies(emu, req.path) and access.origin_allowed(origin, emu.settings.cors_origins):
        record_other(emu, name, "preflight", 204, None, request_id, started)
        return Response(
            b"",
            status=204,
            headers={**access.preflight_headers(origin or "", req.headers), "X-Request-Id": request_id},
        )
    err = ApiError(errors.CORS_FORBIDDEN)
    rendered = render_s3(err, request_id) if vendor is None else render(err, vendor.profile, request_id)
    record_other(emu, name, "preflight", rendered.status, rendered.code, request_id, started)
    return answer(rendered, request_id)


def guard_host(emu: Emulator, req: Request) -> Response | None:
    """A vendor API or the S3 endpoint asked under a Host that is not this emulator's: refused in
    its own shape, journaled, before anything runs (the control plane refuses in `guard_control_plane`)."""
    why = access.host_refusal(emu.settings, req.host)
    if why is None:  # the common case, decided before any lookup of the surface
        return None
    started = time.perf_counter()
    vendor = None if is_s3(req.path) else vendor_for_path(emu, req.path)
    if vendor is not None and vendor.is_control_plane:
        return None
    log.warning("refused %s %s: %s", req.method, req.path, why)
    if vendor is None:
        return _refused(emu, req, None, ApiError(errors.ACCESS_DENIED, why), started)
    return _refused(emu, req, vendor, ApiError(errors.MALFORMED_REQUEST, why, field="Host"), started)


def guard_control_plane(emu: Emulator, req: Request) -> Response | None:
    """Refuse a foreign Host, a cross-site write or a missing token before the control plane sees it."""
    control = emu.vendors[CONTROL_PLANE]
    if not (req.path == control.mount_path or req.path.startswith(control.mount_path + "/")):
        return None
    why = access.refusal(emu.settings, req.method, req.headers, req.host)
    if why is None:
        return None
    request_id = new_request_id()
    log.warning("control API refused %s %s: %s", req.method, req.path, why)
    rendered = render(ApiError(errors.CONTROL_FORBIDDEN, why), control.profile, request_id)
    return answer(rendered, request_id)


def finish_response(emu: Emulator, response: Response) -> Response:
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
    wanted = origin and "Access-Control-Allow-Origin" not in response.headers and cors_applies(emu, req.path)
    if wanted and access.origin_allowed(origin, emu.settings.cors_origins):
        response.headers.update(access.response_headers(origin or ""))
    return response


_PHRASES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}

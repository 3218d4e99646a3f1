"""Answers no spec operation gives: the index at `/`, routing errors (404, 405) in the vendor's shape,
and the last resort for a bug (its vendor's 500, no traceback). No request has a session."""

from __future__ import annotations

import logging
import time

from flask import Flask, Request, Response, jsonify, request
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from upload_emulator.api import pipeline
from upload_emulator.api.call import new_request_id
from upload_emulator.api.surfaces import answer, record_other, vendor_for_path
from upload_emulator.api.upload_flow import S3_MOUNT
from upload_emulator.core import errors
from upload_emulator.core.dialects import render, render_s3
from upload_emulator.core.errors import ApiError
from upload_emulator.core.version import __version__
from upload_emulator.services.emulator import Emulator

log = logging.getLogger("upload_emulator")


def index(emu: Emulator):
    """`GET /`: what is served here, for a person who opened the emulator's address."""
    started, request_id = time.perf_counter(), new_request_id()
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
    record_other(emu, "emulator", "index", 200, None, request_id, started)
    return jsonify(body), 200, {"X-Request-Id": request_id}


def routing_error(emu: Emulator, exc: HTTPException):
    started = time.perf_counter()
    vendor = vendor_for_path(emu, request.path)
    request_id = new_request_id(vendor.profile.request_id_prefix)
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
        record_other(emu, vendor.name, "", rendered.status, rendered.code, request_id, started)
    elif not request.path.startswith(vendor.mount_path + "/"):  # no vendor's path at all: a wrong base path
        record_other(emu, "emulator", "", rendered.status, rendered.code, request_id, started)
    headers = {
        "X-Request-Id": request_id,
        **limits,
        **pipeline.version_echo(vendor.profile, request.headers),
        **rendered.headers,
    }
    return rendered.body, rendered.status, {"Content-Type": rendered.content_type, **headers}


def unexpected_or_http(emu: Emulator, exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    return unexpected(emu, request, exc)


def unexpected(emu: Emulator, req: Request, exc: Exception) -> Response:
    """A bug outside a vendor pipeline: log it, tell the tests, answer without a traceback."""
    log.exception("unhandled error on %s %s", req.method, req.path)
    emu.record_server_error(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
    request_id = new_request_id()
    if req.path == S3_MOUNT or req.path.startswith(S3_MOUNT + "/"):
        rendered = render_s3(
            ApiError(errors.INTERNAL, "We encountered an internal error. Please try again."), request_id
        )
    else:
        rendered = render(ApiError(errors.INTERNAL), vendor_for_path(emu, req.path).profile, request_id)
    return answer(rendered, request_id)


class NoSessions(SessionInterface):
    """No request has a session (nothing here uses one): no cookie is read or written."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None

    def save_session(self, app: Flask, session, response: Response) -> None:
        return None

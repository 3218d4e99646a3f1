"""The application factory: one Emulator, one blueprint per vendor, the S3 endpoint, the admin API.

Vendor routes are built from each vendor's spec; `create_app` refuses to start when a
spec operation has no handler or a handler has no operation, so code and spec cannot drift.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from flask import Blueprint, Flask, jsonify, request
from flask.globals import request_ctx

from upload_emulator import s3, vendors
from upload_emulator.api import fallbacks, gate, pipeline
from upload_emulator.control import admin
from upload_emulator.core import fixture_settings
from upload_emulator.core.datafiles import load_yaml, spec_path
from upload_emulator.core.profiles import World, load_world
from upload_emulator.core.settings import Settings
from upload_emulator.openapi.spec import Operation, Spec
from upload_emulator.services.emulator import Emulator, Vendor

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


def load_worlds(settings: Settings, documents: dict[str, dict] | None = None) -> dict[str, World]:
    """Each served vendor's world, checked: the vendor complete, every `--set` for a served one,
    every fixture's dialect one the registry knows, its settings as its spec's
    `x-emulator-settings` says (`documents`: the specs already read, by vendor)."""
    for vendor in settings.vendors:
        vendors.check(vendor)
    for override in settings.overrides:
        if override.partition(".")[0] not in settings.vendors:
            raise ValueError(f"--set {override}: no vendor {override.partition('.')[0]!r} is served")
    dialects = vendors.declared_dialects()
    documents = documents or {v: load_yaml(vendors.spec_file(v)) for v in settings.vendors}
    return {
        v: load_world(
            v,
            settings.fixtures_dir,
            settings.overrides,
            dialects,
            vendors.fixture_file(v),
            documents[v].get(fixture_settings.SPEC_KEY),
        )
        for v in settings.vendors
    }


def _spec(name: str, document: dict, refine: Callable[[dict], None]) -> Spec:
    """A spec, with what the fixtures choose written into its schemas, compiled."""
    refine(document)
    return Spec(name, document)


def create_app(settings: Settings | None = None) -> Flask:
    """The one composition root: reads the vendor registry, builds the Emulator, compiles the
    specs, and mounts the vendors, the S3 endpoint and the control plane."""
    settings = settings or Settings()
    settings = settings.with_changes(vendors=vendors.served(settings))
    documents = {name: load_yaml(vendors.spec_file(name)) for name in settings.vendors}
    emu = Emulator(settings, load_worlds(settings, documents))
    app = Flask("upload_emulator")
    app.extensions["upload_emulator"] = emu
    for name in settings.vendors:
        prefix = "" if settings.single_vendor else f"/{name}"
        profile = emu.worlds[name].profile
        spec = _spec(name, documents[name], partial(vendors.refine_spec, name, worlds=emu.worlds))
        _mount(app, emu, Vendor(name, profile, spec, vendors.handlers_for(name), prefix))
    steerable = {name: vendors.outcomes_of(name) for name in settings.vendors}
    control = _spec(
        "emulator", load_yaml(spec_path("emulator")), partial(admin.refine_spec, worlds=emu.worlds, steerable=steerable)
    )
    _mount(app, emu, Vendor(admin.NAME, admin.PROFILE, control, dict(admin.HANDLERS), ""))
    app.register_blueprint(s3.blueprint())
    app.register_error_handler(404, lambda exc: fallbacks.routing_error(emu, exc))
    app.register_error_handler(405, lambda exc: fallbacks.routing_error(emu, exc))
    app.register_error_handler(Exception, lambda exc: fallbacks.unexpected_or_http(emu, exc))
    app.before_request(lambda: gate.before(emu, request_ctx.request))
    app.after_request(lambda response: gate.finish_response(emu, response))
    app.session_interface = fallbacks.NoSessions()
    if not settings.single_vendor:
        app.add_url_rule("/", endpoint="index", view_func=lambda: fallbacks.index(emu), methods=["GET"])
    return app


def emulator_of(app: Flask) -> Emulator:
    return app.extensions["upload_emulator"]

"""`upload-emulator serve | keys | specs`: flags > UPLOAD_EMULATOR_* environment > defaults."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emulator import __version__
from emulator.settings import ALL_VENDORS, Settings


def _settings(args: argparse.Namespace) -> Settings:
    vendors = tuple(args.vendors.split(",")) if getattr(args, "vendors", None) else None
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        vendors=vendors,
        single_vendor=getattr(args, "vendor", None),
        fixtures_dir=Path(args.fixtures) if getattr(args, "fixtures", None) else None,
        strict=True if getattr(args, "strict", False) else None,
        log_level=getattr(args, "log_level", None),
    )


def _banner(app, settings: Settings, port: int) -> str:
    from emulator.app import emulator_of

    emu = emulator_of(app)
    root = f"http://{settings.host}:{port}"
    lines = [f"upload-emulator {__version__} listening on {root}", ""]
    for vendor in (v for v in emu.vendors.values() if not v.name.startswith("_")):
        lines.append(f"  {vendor.name:<10} {root}{vendor.mount_path}   (spec: {root}{vendor.prefix}/openapi.json)")
    lines += [
        "",
        f"  S3 endpoint  {root}/s3   access key {settings.s3_access_key}   "
        f"secret {settings.s3_secret_key}   region {settings.s3_region}",
        "  buckets      " + ", ".join(f"{v}: {emu.bucket_for(v)}" for v in emu.worlds),
        f"  control API  {root}/_emulator   (spec: {root}/_emulator/openapi.json)",
        "",
        "Fixture keys:",
    ]
    for key in emu.keys.all():
        lines.append(f"  {key.vendor:<10} {key.secret:<40} {key.description}")
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:
    from emulator.app import create_app
    from emulator.server import ServerError, bound_port, build

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        app = create_app(settings)
        server = build(app, settings.host, settings.port)
    except (ServerError, ValueError, FileNotFoundError) as exc:
        print(f"upload-emulator: {exc}", file=sys.stderr)
        return 2
    print(_banner(app, settings, bound_port(server)), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def keys(args: argparse.Namespace) -> int:
    from emulator.world import load_world

    settings = _settings(args)
    for vendor in settings.vendors:
        for key in load_world(vendor, settings.fixtures_dir).keys:
            print(f"{vendor:<10} {key.secret:<40} {key.workspace:<14} {key.description}")
    return 0


def specs(args: argparse.Namespace) -> int:
    from openapi_spec_validator import validate

    from emulator.resources import spec_path
    from emulator.spec import Spec

    failed = 0
    for name in (*ALL_VENDORS, "emulator"):
        path = spec_path(name)
        spec = Spec.load(path)
        try:
            validate(spec.document)
        except Exception as exc:  # the validator raises several types; report any of them
            print(f"{path}: INVALID: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: valid")
        for op in spec.operations:
            print(f"  {op.method:<6} {spec.base_path}{op.path:<28} {op.operation_id}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="upload-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"upload-emulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the vendors, the S3 endpoint and the control API")
    run.add_argument("--host", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    run.add_argument("--vendors", help=f"comma-separated vendors to serve (default {','.join(ALL_VENDORS)})")
    run.add_argument("--vendor", help="serve only this vendor, at the root (/v1/...)")
    run.add_argument("--fixtures", help="directory with <vendor>.yaml fixtures to use instead of the shipped ones")
    run.add_argument("--strict", action="store_true", help="validate every response against the spec")
    run.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR")
    run.set_defaults(func=serve)
    k = sub.add_parser("keys", help="print the fixture keys and what each is for")
    k.add_argument("--fixtures")
    k.set_defaults(func=keys)
    s = sub.add_parser("specs", help="validate the specs and list their operations")
    s.set_defaults(func=specs)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

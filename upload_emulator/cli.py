"""upload-emulator: serve vendors' upload APIs offline. Flags > UPLOAD_EMULATOR_* environment > defaults."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from upload_emulator import __version__, logs
from upload_emulator.settings import Settings
from upload_emulator.vendors import installed


def _settings(args: argparse.Namespace) -> Settings:
    vendors = tuple(args.vendors.split(",")) if getattr(args, "vendors", None) else None
    fixtures = getattr(args, "fixtures", None)
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        vendors=vendors,
        single_vendor=getattr(args, "vendor", None),
        fixtures_dir=Path(fixtures) if fixtures else None,
        strict=True if getattr(args, "strict", False) else None,
        log_level=getattr(args, "log_level", None),
        log_format=getattr(args, "log_format", None),
        journal_size=getattr(args, "journal_size", None),
    )


def _fail(message: str) -> int:
    print(f"upload-emulator: {message}", file=sys.stderr)
    return 2


def banner(app, settings: Settings, port: int) -> str:
    """What `serve` prints: where everything is, and the keys to call it with."""
    from upload_emulator.app import emulator_of

    emu = emulator_of(app)
    root = f"http://{settings.host}:{port}"
    lines = [f"upload-emulator {__version__} listening on {root}", ""]
    for vendor in (v for v in emu.vendors.values() if not v.is_control_plane):
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
    lines += [f"  {key.vendor:<10} {key.secret:<40} {key.description}" for key in emu.keys.all()]
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:
    from upload_emulator.app import create_app
    from upload_emulator.server import ServerError, bound_port, build

    try:
        settings = _settings(args)
        unknown = set(settings.served_vendors) - set(installed())
        if unknown:
            return _fail(f"unknown vendor {', '.join(sorted(unknown))}; choose from {', '.join(installed())}")
        logs.configure(settings.log_level, settings.log_format)
        app = create_app(settings)
        server = build(app, settings.host, settings.port)
    except (ServerError, ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    print(banner(app, settings, bound_port(server)), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def keys(args: argparse.Namespace) -> int:
    from upload_emulator.world import load_world

    settings = _settings(args)
    try:
        worlds = [load_world(vendor, settings.fixtures_dir) for vendor in settings.served_vendors]
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    for world in worlds:
        for key in world.keys:
            print(f"{world.profile.name:<10} {key.secret:<40} {key.workspace:<14} {key.description}")
    return 0


def specs(args: argparse.Namespace) -> int:
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return _fail("`specs` needs openapi-spec-validator: pip install 'upload-emulator[test]'")
    from upload_emulator.datafiles import spec_path
    from upload_emulator.spec import Spec

    failed = 0
    for name in (*installed(), "emulator"):
        path = spec_path(name)
        try:
            spec = Spec.load(path)
            validate(spec.document)
        except Exception as exc:  # YAML, loader and validator errors all mean "invalid"
            print(f"{path}: INVALID: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: valid")
        for op in spec.operations:
            print(f"  {op.method:<6} {spec.base_path}{op.path:<28} {op.operation_id}")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="upload-emulator", description=__doc__)
    top.add_argument("--version", action="version", version=f"upload-emulator {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the vendors, the S3 endpoint and the control API")
    run.add_argument("--host", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    run.add_argument("--vendors", help=f"comma-separated vendors to serve (default {','.join(installed())})")
    run.add_argument("--vendor", help="serve only this vendor, at the root (/v1/...), for SDKs with fixed paths")
    run.add_argument("--fixtures", help="directory of <vendor>.yaml fixtures to use instead of the shipped ones")
    run.add_argument("--strict", action="store_true", help="validate every response against the spec")
    run.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO: one line per request",
    )
    run.add_argument("--log-format", choices=["text", "json"], help="default text")
    run.add_argument("--journal-size", type=int, help="requests kept in the journal (default 1000)")
    run.set_defaults(func=serve)
    k = sub.add_parser("keys", help="print the fixture keys and what each is for")
    k.add_argument("--fixtures", help="directory of <vendor>.yaml fixtures")
    k.set_defaults(func=keys)
    s = sub.add_parser("specs", help="validate the specs and list their operations")
    s.set_defaults(func=specs)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

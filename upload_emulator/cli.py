"""upload-emulator: serve vendors' upload APIs offline. Settings: flags > environment > config file > defaults."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
import time
from pathlib import Path

from upload_emulator.core import logs
from upload_emulator.core.fixture_settings import FixtureSettingsError
from upload_emulator.core.settings import CONFIG_ENV, OPTIONS, Settings, SettingsError, describe, resolve
from upload_emulator.core.version import __version__
from upload_emulator.drift import commands as drift_commands
from upload_emulator.services.callbacks import is_loopback_host
from upload_emulator.vendors import declared_dialects, fixture_file, installed, served, spec_file

# Options whose flag may repeat: (metavar, the separator their environment variable uses).
REPEATABLE = {"overrides": ("VENDOR.KEY=VALUE", ";"), "cors_origins": ("ORIGIN", ","), "allowed_hosts": ("HOST", ",")}


def _settings(args: argparse.Namespace) -> Settings:
    return _resolved(args)[0]


def _resolved(args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    flags = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    for name, (_, separator) in REPEATABLE.items():
        values: list[str] = flags.get(name) or []
        flags[name] = separator.join(values) if values else None
    flags["strict"] = True if getattr(args, "strict", False) else None
    config = getattr(args, "config", None)
    return resolve(flags, config=Path(config) if config else None)


def _fail(message: str) -> int:
    print(f"upload-emulator: {message}", file=sys.stderr)
    return 2


def _bad_fixture_setting(exc: FixtureSettingsError, sources: dict[str, str]) -> int:
    """One line: where the value came from (the --set's own source, or the fixture file), the key,
    the value, and what is allowed."""
    where = sources.get("overrides", "flag --set").removeprefix("flag ") if exc.origin == "override" else None
    return _fail(exc.line(where or f"fixtures {exc.origin}"))


def banner(app, settings: Settings, port: int) -> str:
    """What `serve` prints, within 80 columns: where everything is and how to start."""
    from upload_emulator.app import emulator_of

    emu = emulator_of(app)
    root = f"http://{settings.host}:{port}"
    lines = [f"upload-emulator {__version__} on {root}", ""]
    vendors = [v for v in emu.vendors.values() if not v.is_control_plane]
    lines += [f"  {v.name:<11} {root}{v.mount_path}" for v in vendors]
    lines += [
        f"  {'S3':<11} {root}/s3   (region {settings.s3_region})",
        f"  {'':<11} read-only key {settings.s3_access_key}, secret {settings.s3_secret_key}",
        f"  {'control':<11} {root}/_emulator   (specs: /<vendor>/openapi.json)",
        "",
        "Buckets:",
        *[f"  {v:<11} {emu.bucket_for(v)}" for v in emu.worlds if "uploads" in emu.worlds[v].profile.settings],
        "",
        "Fixture keys (all of them: upload-emulator keys):",
    ]
    for vendor in vendors:
        key = next((k for k in emu.keys.all(vendor.name) if not k.is_revoked and k.expires_at is None), None)
        if key is not None:
            lines.append(f"  {vendor.name:<11} {key.secret}")
    sample = next((v for v in vendors if v.name == "scripe"), None)
    lines.append("")
    if sample is not None:
        lines += [
            "Try:",
            f"  curl -s -X POST {root}{sample.mount_path}/uploads \\",
            "    -H 'Authorization: Bearer scripe_sk_test_acme_full_access' \\",
            "    -H 'Content-Type: application/json' -d '{\"contentType\": \"text/plain\"}'",
            "",
        ]
    if not is_loopback_host(settings.host):
        guard = "set --control-token" if not settings.control_token else "the control API needs its token"
        lines += [f"WARNING: bound to {settings.host}: others can reach it ({guard}).", ""]
    lines.append("Ctrl-C to stop")
    return "\n".join(lines)


def config(args: argparse.Namespace) -> int:
    """Print every setting, its effective value and where that value came from."""
    from upload_emulator.app import load_worlds

    try:
        settings, sources = _resolved(args)
        load_worlds(settings.with_changes(vendors=served(settings)))  # the fixtures, as serve would check them
    except FixtureSettingsError as exc:
        return _bad_fixture_setting(exc, sources)
    except (SettingsError, ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    for name, value, source in describe(settings, sources):
        shown = "(all installed)" if name == "vendors" and not value else value
        shown = "(random per start)" if name == "bucket_suffix" and value is None else shown
        print(f"{name:<14} {shown!s:<28} {source}")
    return 0


def serve(args: argparse.Namespace) -> int:
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.serving.server import ServerError, bound_port, build

    sources: dict[str, str] = {}
    try:
        settings, sources = _resolved(args)
        unknown = set(served(settings)) - set(installed())
        if unknown:
            return _fail(f"unknown vendor {', '.join(sorted(unknown))}; choose from {', '.join(installed())}")
        logs.configure(settings.log_level, settings.log_format)
        app = create_app(settings)
        server = build(app, settings.host, settings.port)
    except FixtureSettingsError as exc:
        return _bad_fixture_setting(exc, sources)
    except (ServerError, SettingsError, ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    print(banner(app, settings, bound_port(server)), flush=True)
    gc.freeze()  # what start-up made lives as long as the process: no full collection need walk it again
    # moto and botocore (a third of start-up) load while the server already answers
    threading.Thread(target=_load_the_rest, args=(emulator_of(app),), name="upload-emulator-load", daemon=True).start()
    # Both, however the process was started: a job a script starts with `&` inherits SIGINT
    # ignored, and Ctrl-C or `kill -INT` must still stop it.
    signal.signal(signal.SIGTERM, server.stop_soon)
    signal.signal(signal.SIGINT, server.stop_soon)
    try:
        server.serve()  # returns once a signal's handler has stopped the server
    except KeyboardInterrupt:  # cheroot re-raises an interrupt a worker reported: stop just the same
        pass
    finally:
        server.stop()
        emulator_of(app).close()  # stored objects past the memory spool are files: give the disk back
    return 0


QUIET_S = 0.2  # how long no request must arrive before the rest loads in the background


def _load_the_rest(emu, quiet_s: float = QUIET_S, wait=time.sleep) -> None:
    """What the first upload needs and start-up does not: moto's S3 and botocore's verifier, and
    jsonschema (what explains the first request a schema refuses).

    It loads at the first quiet moment: importing holds the GIL, and a load run that starts
    as soon as `serve` answers would otherwise see half a second of requests ten times
    slower. A first upload before that moment loads them itself (storage is lazy).
    Then everything loaded so far (modules, specs, moto, compiled schemas: about 10 ms of
    every full garbage collection) is frozen out of the collector's view: it lives as long as
    the process, and a full collection under load stalls every client.
    """
    while True:
        seen = emu.journal.added
        wait(quiet_s)
        if emu.journal.added == seen:
            break
    emu.storage.load()
    from upload_emulator.blobs.botocore_sigv4 import signers

    signers()  # botocore's verifier
    from upload_emulator.openapi.schemas import load_in_background

    load_in_background()

    gc.freeze()


def keys(args: argparse.Namespace) -> int:
    from upload_emulator.core.profiles import load_world

    try:
        settings = _settings(args)
        dialects = declared_dialects()
        worlds = [load_world(v, settings.fixtures_dir, (), dialects, fixture_file(v)) for v in served(settings)]
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
    from upload_emulator.core.datafiles import spec_path
    from upload_emulator.openapi.spec import Spec

    failed = 0
    for path in (*(spec_file(v) for v in installed()), spec_path("emulator")):
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


def _settings_flags(command: argparse.ArgumentParser) -> None:
    """One flag per option; each help names its environment variable."""
    for option in OPTIONS:
        if option.name == "strict":
            command.add_argument("--strict", action="store_true", help=f"{option.help} [{option.env}]")
        elif option.name in REPEATABLE:
            metavar, separator = REPEATABLE[option.name]
            command.add_argument(
                option.flag,
                dest=option.name,
                action="append",
                metavar=metavar,
                help=f"{option.help} [{option.env}, '{separator}'-separated]",
            )
        else:
            command.add_argument(
                option.flag, dest=option.name, metavar=option.name.upper(), help=f"{option.help} [{option.env}]"
            )
    command.add_argument("--config", help=f"a TOML file of settings (keys as below, e.g. port = 8081) [{CONFIG_ENV}]")


SETTINGS_EPILOG = (
    "Each setting comes from, in order: its flag, its UPLOAD_EMULATOR_* environment variable "
    "(shown in brackets), the --config file, the default. `upload-emulator config` prints the result."
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="upload-emulator", description=__doc__, epilog=SETTINGS_EPILOG)
    top.add_argument("--version", action="version", version=f"upload-emulator {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the vendors, the S3 endpoint and the control API", epilog=SETTINGS_EPILOG)
    _settings_flags(run)
    run.set_defaults(func=serve)
    show = sub.add_parser(
        "config", help="print the effective settings and where each came from", epilog=SETTINGS_EPILOG
    )
    _settings_flags(show)
    show.set_defaults(func=config)
    k = sub.add_parser("keys", help="print the fixture keys and what each is for")
    k.add_argument("--fixtures", dest="fixtures_dir", help="directory of <vendor>.yaml fixtures")
    k.set_defaults(func=keys)
    s = sub.add_parser("specs", help="validate the specs and list their operations")
    s.set_defaults(func=specs)
    drift_commands.add_parsers(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

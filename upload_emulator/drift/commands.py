"""The drift commands of `upload-emulator`: record, verify, scenarios run (docs/drift.md)."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
from pathlib import Path

from upload_emulator.core.profiles import load_world
from upload_emulator.drift import recording, report, scenarios
from upload_emulator.drift.proxy import Recorder
from upload_emulator.drift.verify import verify
from upload_emulator.serving.server import ServerError, bound_port, build
from upload_emulator.vendors import declared_dialects, fixture_file, installed


def _fail(message: str, code: int = 2) -> int:
    print(f"upload-emulator: {message}", file=sys.stderr)
    return code


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    found = {}
    for each in values or []:
        name, sep, value = each.partition("=")
        if not sep or not name:
            raise ValueError(f"{flag} {each!r} is not NAME=VALUE")
        found[name] = value
    return found


def record(args: argparse.Namespace) -> int:
    if args.vendor not in installed():
        return _fail(f"unknown vendor {args.vendor!r}; choose from {', '.join(installed())}")
    try:
        profile = load_world(args.vendor, None, (), declared_dialects(), fixture_file(args.vendor)).profile
        app = Recorder(args.vendor, profile, args.upstream, Path(args.out))
        server = build(app, args.host, int(args.port))
    except (ValueError, OSError, ServerError) as exc:
        return _fail(str(exc))
    print(
        f"upload-emulator record: {args.vendor} on http://{args.host}:{bound_port(server)} -> {args.upstream}, "
        f"recording to {args.out} (Ctrl-C to stop)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, server.stop_soon)
    signal.signal(signal.SIGINT, server.stop_soon)
    try:
        server.serve()  # returns once a signal's handler has stopped the server
    except KeyboardInterrupt:  # cheroot re-raises an interrupt a worker reported: stop just the same
        pass
    finally:
        server.stop()
    return 0


def verify_command(args: argparse.Namespace) -> int:
    try:
        recorded = recording.load(Path(args.file), list(installed()))
        credentials = _pairs(args.credential, "--credential")
    except (recording.Unusable, ValueError) as exc:
        return _fail(str(exc))
    outcomes, used = verify(recorded, credentials)
    for fingerprint, key in used.items():
        how = "given" if fingerprint in credentials else "default: the fixture key with the most scopes"
        print(f"credential {fingerprint} -> fixture key {key} ({how})")
    for outcome in outcomes:
        print(outcome.line())
        for line in outcome.details():
            print(line)
    drifted = sum(o.drifted for o in outcomes)
    print(f"{recorded.vendor}: {drifted} of {len(outcomes)} exchanges drifted")
    if args.junit:
        report.junit(outcomes, recorded.vendor, Path(args.junit))
    if args.html:
        report.page(outcomes, recorded.vendor, Path(args.html))
    return 1 if drifted else 0


def scenarios_command(args: argparse.Namespace) -> int:
    if args.vendor not in installed():
        return _fail(f"unknown vendor {args.vendor!r}; choose from {', '.join(installed())}")
    try:
        variables = {"run": secrets.token_hex(4), **_pairs(args.var, "--var")}
        results = scenarios.run(args.vendor, args.base_url, args.key, args.key_read_only, variables, args.slow)
    except (scenarios.ScenarioError, ValueError) as exc:
        return _fail(str(exc))
    for result in results:
        print(result.line())
    failed = sum(not r.ok for r in results)
    print(f"{args.vendor}: {len(results) - failed} of {len(results)} steps as documented")
    return 1 if failed else 0


def add_parsers(sub) -> None:
    rec = sub.add_parser("record", help="a recording reverse proxy in front of a vendor's real API (HAR 1.2)")
    rec.add_argument("--vendor", required=True)
    rec.add_argument("--upstream", required=True, help="the vendor's API, e.g. https://api.scripe.io")
    rec.add_argument("--port", default="8090", help="where clients point (default 8090; 0: a free one)")
    rec.add_argument("--host", default="127.0.0.1")
    rec.add_argument("--out", required=True, help="the recording to write (HAR 1.2, secrets redacted)")
    rec.set_defaults(func=record)
    ver = sub.add_parser("verify", help="replay a recording against the emulator and report drift")
    ver.add_argument("file")
    ver.add_argument("--junit", help="also write JUnit XML here")
    ver.add_argument("--html", help="also write a self-contained HTML report here")
    ver.add_argument(
        "--credential", action="append", metavar="FINGERPRINT=KEY", help="use this fixture key for a recorded one"
    )
    ver.set_defaults(func=verify_command)
    sc = sub.add_parser("scenarios", help="run a vendor's documented happy and unhappy paths")
    sc_sub = sc.add_subparsers(dest="scenarios_command", required=True)
    run = sc_sub.add_parser("run", help="run every scenario against a base URL")
    run.add_argument("--vendor", required=True)
    run.add_argument(
        "--base-url", required=True, help="the vendor's host, the emulator's single-vendor root, or `record`"
    )
    run.add_argument("--key", required=True, help="a key with every scope the scenarios need")
    run.add_argument("--key-read-only", help="a key that may read but not write (its scenarios run only with it)")
    run.add_argument("--var", action="append", metavar="NAME=VALUE", help="set a variable the scenarios use")
    run.add_argument("--slow", action="store_true", help="also run what waits out a window (an expired URL)")
    run.set_defaults(func=scenarios_command)

"""The WSGI server, measured: cheroot as `serve` runs it, against the maintained alternatives.

For each server, under the same wrk load (1 thread, 16 connections, then 1 connection):
  - a trivial WSGI app (the server's own ceiling), and
  - the emulator's Scripe mint (what a user feels),
with the server process's CPU time per request (user + system, from psutil: steadier than
rates on a noisy machine); then what each server tells the app about a client that stops in
the middle of a chunked body, which decides whether a cut upload can be told from a finished one.

"cheroot" runs as `serve` builds it (docs/how-it-is-built.md); waitress (a test dependency)
with 8 threads; granian with one worker and one blocking thread (its best case for a
GIL-bound app) and uvicorn through a2wsgi, each when installed (`pip install granian uvicorn
a2wsgi`). Needs wrk (`apt-get install -y wrk`). Only 127.0.0.1 is used, every load is
bounded by wrk's -d. `--rounds` repeats the whole set, so a noisy minute shows as spread.

    python bench/servers.py [--seconds 5] [--rounds 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import free_port, wait_for

KEY = "scripe_sk_test_acme_full_access"
APPS = '''
import sys

def trivial(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]

def reader(environ, start_response):
    """Reads the whole body and says what it got and how the read ended."""
    got, ended = 0, "a clean end"
    try:
        while chunk := environ["wsgi.input"].read(65536):
            got += len(chunk)
    except Exception as exc:
        ended = f"{type(exc).__name__}"
    answer = f"{got} bytes, then {ended}".encode()
    print(answer.decode(), file=sys.stderr, flush=True)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]

def emulator():
    from upload_emulator.app import create_app
    from upload_emulator.core.settings import Settings
    return create_app(Settings(log_level="WARNING", overrides=("scripe.rate_limit.limit=1000000000",)))
'''
CHEROOT = """
import sys
sys.path.insert(0, {here!r})
import apps
from upload_emulator.serving.server import build
app = apps.emulator() if {name!r} == "emulator" else getattr(apps, {name!r})
build(app, "127.0.0.1", {port}).serve()
"""
MINT_LUA = f"""wrk.method = "POST"
wrk.body = '{{"contentType": "audio/mpeg"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {KEY}"
"""


WAITRESS = """
import logging, sys
logging.disable(logging.WARNING)
sys.path.insert(0, {here!r})
import apps, waitress
app = apps.emulator() if {name!r} == "emulator" else getattr(apps, {name!r})
waitress.serve(app, host="127.0.0.1", port={port}, threads=8, _quiet=True)
"""
UVICORN = """
import sys
sys.path.insert(0, {here!r})
import apps, uvicorn
from a2wsgi import WSGIMiddleware
app = apps.emulator() if {name!r} == "emulator" else getattr(apps, {name!r})
uvicorn.run(WSGIMiddleware(app), host="127.0.0.1", port={port}, log_level="warning")
"""
SCRIPTS = {"cheroot": CHEROOT, "waitress": WAITRESS, "uvicorn": UVICORN}


def start(server: str, app: str, here: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if server in SCRIPTS:
        code = SCRIPTS[server].format(here=str(here), name=app, port=port)
        command = [sys.executable, "-c", code]
    else:
        target = "apps:emulator" if app == "emulator" else f"apps:{app}"
        command = [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", "1", "--blocking-threads", "1", "--log-level", "warning"),
            *(("--factory",) if app == "emulator" else ()),
            target,
        ]
    process = subprocess.Popen(command, cwd=here, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(port)
    return process, port


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err.decode(errors="replace")


def load(
    process: subprocess.Popen, port: int, path: str, connections: int, seconds: int, script: Path | None
) -> tuple[float, float, float, float]:
    """(requests/s, p50 ms, p99 ms) from wrk, and the server's CPU microseconds per request."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    before = _cpu_seconds(process)
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True)
    after = _cpu_seconds(process)
    if "Non-2xx" in out.stdout:
        raise SystemExit(f"non-2xx answers under load:\n{out.stdout}")

    def ms(label: str) -> float:
        value = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out.stdout)
        assert value, out.stdout
        return float(value.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[value.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    done = re.search(r"(\d+) requests in", out.stdout)
    assert rate and done, out.stdout
    cpu = (after - before) * 1e6 / max(1, int(done.group(1)))
    return float(rate.group(1)), ms("50%"), ms("99%"), cpu


def _cpu_seconds(process: subprocess.Popen) -> float:
    """User + system CPU of the server and its children (granian serves from a child process)."""
    server = psutil.Process(process.pid)
    total = 0.0
    for each in (server, *server.children(recursive=True)):
        times = each.cpu_times()
        total += times.user + times.system
    return total


def cut_chunked_body(port: int) -> None:
    """A chunked PUT that stops in the middle of its second chunk, then closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n100\r\nabc")
        time.sleep(0.5)
    time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install -y wrk")
    servers = ["cheroot", "waitress"]
    servers += ["granian"] if importlib.util.find_spec("granian") else []
    servers += ["uvicorn"] if importlib.util.find_spec("uvicorn") and importlib.util.find_spec("a2wsgi") else []
    missing = {"granian", "uvicorn"} - set(servers)
    if missing:
        print(f"not installed, so not measured: {', '.join(sorted(missing))} (pip install granian uvicorn a2wsgi)")
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        (here / "apps.py").write_text(APPS)
        (here / "mint.lua").write_text(MINT_LUA)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(here), os.environ.get("PYTHONPATH")]))
        for round_ in range(1, args.rounds + 1):
            rows = []
            for app, path, script in (("trivial", "/", None), ("emulator", "/scripe/v1/uploads", here / "mint.lua")):
                for server in servers:
                    process, port = start(server, app, here)
                    try:
                        load(process, port, path, 16, 1, script)  # warm: imports, caches, first allocations
                        many = load(process, port, path, 16, args.seconds, script)
                        one = load(process, port, path, 1, args.seconds, script)
                    finally:
                        stop(process)
                    rows.append((f"{app} on {server}", many, one))
            print(f"\nround {round_}")
            print(f"{'':22} {'16 conns req/s':>15} {'p99 ms':>8} {'cpu us/req':>10} {'1 conn req/s':>13} {'p50 ms':>8}")
            for label, (rate16, _, p99, cpu16), (rate1, p50, _, _) in rows:
                print(f"{label:22} {rate16:15.0f} {p99:8.2f} {cpu16:10.0f} {rate1:13.0f} {p50:8.2f}")
            for app in ("trivial", "emulator"):
                base = next(r for r in rows if r[0] == f"{app} on cheroot")
                for other in (r for r in rows if r[0].startswith(f"{app} on ") and r is not base):
                    print(
                        f"{other[0]} / cheroot: {other[1][0] / base[1][0]:.2f}x the rate at 16 connections, "
                        f"{other[1][3] / base[1][3]:.2f}x the CPU per request"
                    )
        print("\nA chunked body cut off mid-chunk, as each server hands it to the app:")
        for server in servers:
            process, port = start(server, "reader", here)
            try:
                cut_chunked_body(port)
            finally:
                said = stop(process)
            seen = [line for line in said.splitlines() if "bytes, then" in line]
            print(f"  {server}: {seen[-1] if seen else 'the app was not called'}")


if __name__ == "__main__":
    main()

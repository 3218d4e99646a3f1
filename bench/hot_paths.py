"""What each hot operation costs the application, as a ratio to the Scripe mint, in one run.

The app is called as a WSGI callable in this process (no server, no socket), so the figure
is the emulator's own work per request: the part every server adds to in the same way.
Each operation runs in 7 batches and the fastest batch counts (these machines are noisy),
and its batches alternate with batches of the mint, so each ratio is of two figures taken in
the same seconds.
Also measured here, each against its own baseline:
  - `POST /_emulator/reset` with 10,000 uploads stored (records and bytes), against a reset
    of an empty emulator;
  - start-up: `upload-emulator serve` from the command to its first healthy answer, against
    starting a bare Python interpreter.

    python bench/hot_paths.py [--requests 1400] [--stored 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from upload_emulator.app import create_app, emulator_of
from upload_emulator.core.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import free_port

ROOMY = "1000000000"
LIFTED = (f"scripe.rate_limit.limit={ROOMY}", f"streamloop.rate_limit.limit={ROOMY}")
SCRIPE = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
STREAMLOOP = {"X-API-Key": "sl_test_studio_api_key", "X-Workspace-Id": "wksp_studio"}
BATCHES = 7


class App:
    """An emulator app called directly through WSGI."""

    def __init__(self, **settings) -> None:
        self.app = create_app(Settings(log_level="WARNING", **settings))
        self.emu = emulator_of(self.app)

    def call(self, method: str, target: str, body: bytes | dict | None = None, headers=None) -> tuple[int, bytes]:
        path, _, query = target.partition("?")
        raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "RAW_URI": target,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8080",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(raw),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if raw:
            environ["CONTENT_LENGTH"] = str(len(raw))
            environ["CONTENT_TYPE"] = "application/json" if isinstance(body, dict) else "application/octet-stream"
        for name, value in (headers or {}).items():
            if name.lower() == "content-type":
                environ["CONTENT_TYPE"] = value
            else:
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        status: list[str] = []
        answer = b"".join(self.app(environ, lambda s, h, e=None: status.append(s)))
        return int(status[0].split()[0]), answer


def per_request_ms(run, count: int, beside=None) -> tuple[float, float]:
    """(the fastest batch's ms per call of `run`, the same for `beside`); `run(i)` makes call
    number i. With `beside` (the mint), its batches alternate with `run`'s, so the two are
    timed in the same seconds: measured minutes apart, a ratio moved with the machine."""
    best, beside_best, each, done = float("inf"), float("inf"), max(1, count // BATCHES), 0
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(each):
            run(done)
            done += 1
        best = min(best, (time.perf_counter() - started) / each)
        if beside is not None:
            started = time.perf_counter()
            for _ in range(each):
                beside(0)
            beside_best = min(beside_best, (time.perf_counter() - started) / each)
    return best * 1000, (beside_best if beside is not None else best) * 1000


def expect(status: int, answer: bytes, wanted: int) -> bytes:
    if status != wanted:
        raise SystemExit(f"expected {wanted}, got {status}: {answer[:300]!r}")
    return answer


def scripe_uploaded(app: App, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        minted = json.loads(expect(*app.call("POST", "/scripe/v1/uploads", {"contentType": "text/plain"}, SCRIPE), 200))
        url = urlsplit(minted["data"]["uploadUrl"])
        expect(*app.call("PUT", f"{url.path}?{url.query}", b"hello", {"Content-Type": "text/plain"}), 200)
        ids.append(minted["data"]["id"])
    return ids


def streamloop_created(app: App, count: int, with_bytes: bool) -> list[str]:
    ids = []
    for _ in range(count):
        body = {"mimeType": "video/mp4", "name": "clip.mp4", "type": "video"}
        upload_id = json.loads(expect(*app.call("POST", "/streamloop/v1/uploads", body, STREAMLOOP), 201))["id"]
        if with_bytes:
            answer = app.call("POST", f"/streamloop/v1/uploads/{upload_id}/upload-url", None, STREAMLOOP)
            target = urlsplit(json.loads(expect(*answer, 200)))  # the URL, as a JSON string
            expect(*app.call("PUT", f"{target.path}?{target.query}", b"frames", {"Content-Type": "video/mp4"}), 200)
        ids.append(upload_id)
    return ids


def operations(app: App, count: int) -> dict[str, tuple[float, float]]:
    """Cost per request of each hot operation, with the mint's timed beside it (ms, mint's ms);
    every answer is checked."""
    mint = {"contentType": "audio/mpeg"}

    def minted(i: int) -> None:
        expect(*app.call("POST", "/scripe/v1/uploads", mint, SCRIPE), 200)

    figures = {"Scripe mint (createUpload)": per_request_ms(minted, count)}
    figures["Scripe health (getHealth)"] = per_request_ms(
        lambda i: expect(*app.call("GET", "/scripe/v1/health"), 200), count, minted
    )
    uploads = scripe_uploaded(app, count)
    jobs: list[str] = []

    def redeem(i: int) -> None:
        body = {"type": "file", "projectId": "prj_bench", "uploadId": uploads[i]}
        jobs.append(json.loads(expect(*app.call("POST", "/scripe/v1/sources", body, SCRIPE), 202))["data"]["id"])

    figures["Scripe redemption (createSource)"] = per_request_ms(redeem, count, minted)
    figures["Scripe job read (getJob)"] = per_request_ms(
        lambda i: expect(*app.call("GET", f"/scripe/v1/jobs/{jobs[i % len(jobs)]}", None, SCRIPE), 200), count, minted
    )
    created = streamloop_created(app, count, with_bytes=False)
    figures["Streamloop create (createUpload)"] = per_request_ms(
        lambda i: streamloop_created(app, 1, with_bytes=False), count, minted
    )
    figures["Streamloop upload URL (generateUploadUrl)"] = per_request_ms(
        lambda i: expect(
            *app.call("POST", f"/streamloop/v1/uploads/{created[i % len(created)]}/upload-url", None, STREAMLOOP), 200
        ),
        count,
        minted,
    )
    filled = streamloop_created(app, count, with_bytes=True)
    figures["Streamloop complete (completeUpload)"] = per_request_ms(
        lambda i: expect(*app.call("POST", f"/streamloop/v1/uploads/{filled[i]}/complete", None, STREAMLOOP), 200),
        count,
        minted,
    )
    figures["Streamloop record read (getUpload)"] = per_request_ms(
        lambda i: expect(*app.call("GET", f"/streamloop/v1/uploads/{filled[i % len(filled)]}", None, STREAMLOOP), 200),
        count,
        minted,
    )
    key = {"vendor": "scripe", "workspace": "ws_bench", "scopes": ["sources:write"], "status": "active"}
    figures["control API keys (createKey)"] = per_request_ms(
        lambda i: expect(*app.call("POST", "/_emulator/keys", key), 201), count, minted
    )
    figures["control API reset, nothing stored"] = per_request_ms(
        lambda i: expect(*app.call("POST", "/_emulator/reset"), 204), count, minted
    )
    return figures


def reset_with_stored(stored: int) -> tuple[float, float]:
    """(ms to reset with `stored` uploads and their bytes, ms to reset an empty emulator)."""
    full, empty = App(overrides=LIFTED), App(overrides=LIFTED)
    scripe_uploaded(full, stored)
    assert len(full.emu.uploads.all()) == stored
    started = time.perf_counter()
    expect(*full.call("POST", "/_emulator/reset"), 204)
    loaded = (time.perf_counter() - started) * 1000
    assert full.emu.uploads.all() == []
    started = time.perf_counter()
    expect(*empty.call("POST", "/_emulator/reset"), 204)
    return loaded, (time.perf_counter() - started) * 1000


def startup_s() -> tuple[float, float]:
    """(s from `upload-emulator serve` to a healthy answer, s to start and end a bare interpreter)."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.005)
        else:
            raise SystemExit("serve did not answer within 30 s")
        serve_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return serve_s, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1400, help="calls per operation (7 batches)")
    parser.add_argument("--stored", type=int, default=10_000, help="uploads stored before the timed reset")
    args = parser.parse_args()
    os.environ.setdefault("UPLOAD_EMULATOR_LOG_LEVEL", "WARNING")
    figures = operations(App(overrides=LIFTED), args.requests)
    print(f"{'operation (in-process, fastest of 7 batches)':46} {'ms/request':>11} {'mint beside':>12} {'x mint':>7}")
    for name, (ms, mint) in figures.items():
        print(f"{name:46} {ms:11.3f} {mint:12.3f} {ms / mint:7.2f}")
    loaded, empty = reset_with_stored(args.stored)
    print(f"\nreset with {args.stored:,} uploads stored: {loaded:.2f} ms (empty emulator: {empty:.2f} ms)")
    serve_s, bare_s = startup_s()
    print(f"start-up, command to first healthy answer: {serve_s:.3f} s (bare interpreter: {bare_s:.3f} s)")


if __name__ == "__main__":
    main()

"""Mint requests/s, PUT MB/s for a 256 MiB body, and the server's peak RSS during the PUT.

Every figure is printed with a baseline measured in the same run, because these machines
are noisy:
  - mint requests/s against GET /scripe/v1/health on the same server (the floor cost of a
    request through cheroot + Flask), so the ratio is what the pipeline itself costs;
  - PUT MB/s against a raw loopback socket sink that reads and discards the same bytes (the
    ceiling of the link), so the ratio is the share of the link the emulator keeps;
  - the same PUT through waitress, the alternative WSGI server, as a ratio to cheroot.
Each timed PUT follows one small upload (`warmed`), so moto's one-time import is not in it.
Servers run in their own processes so their RSS is theirs alone. Loops are bounded.

    python bench/put_throughput.py [--mib 256] [--mints 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

import psutil

KEY = "scripe_sk_test_acme_full_access"
BLOCK = 1024 * 1024
SERVE = {
    # Scripe's real budget (120 requests a minute per workspace) is lifted: this measures speed.
    "cheroot": "from upload_emulator.cli import main; import sys; sys.exit(main(['serve', '--port', '{port}',"
    " '--log-level', 'WARNING', '--set', 'scripe.rate_limit.limit=1000000000']))",
    # stopped with SIGTERM like `serve`, and like it closing the emulator, so its objects leave /tmp
    "waitress": "import logging, signal, sys; logging.disable(logging.INFO); import waitress;"
    " from upload_emulator.app import create_app, emulator_of;"
    " from upload_emulator.core.settings import Settings;"
    " app = create_app(Settings(overrides=('scripe.rate_limit.limit=1000000000',)));"
    " signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "try:\n    waitress.serve(app, host='127.0.0.1', port={port}, threads=16, max_request_body_size=1 << 40)\n"
    "finally:\n    emulator_of(app).close()",
    # moto's own standalone server (`pip install 'moto[server]'`, in this project's `bench` extra)
    "moto": "import sys; from moto.server import main; sys.exit(main(['-p', '{port}']))",
}
SINK = """
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", {port})); srv.listen(1); print("ready", flush=True)
conn, _ = srv.accept()
left = {size}
while left > 0:
    chunk = conn.recv(min(1 << 20, left))
    if not chunk: break
    left -= len(chunk)
conn.sendall(b"done"); conn.close()
"""


def wrk_mint_script() -> str:
    """The path of a new wrk script that POSTs the Scripe mint with the fixture key (the caller
    removes it); exits with how to install wrk where it is missing."""
    if shutil.which("wrk") is None:
        sys.exit("needs wrk: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            'wrk.method="POST"\nwrk.body=\'{"contentType":"audio/mpeg"}\'\n'
            'wrk.headers["Content-Type"]="application/json"\n'
            f'wrk.headers["Authorization"]="Bearer {KEY}"\n'
        )
    return lua.name


def wrk_rate(out: str) -> float:
    """The requests/s in wrk's report `out`, where every mint succeeded (the rate limit is lifted)."""
    assert "Non-2xx" not in out, out
    return float(next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


class Server:
    def __init__(self, kind: str) -> None:
        self.port = free_port()
        code = SERVE[kind].format(port=self.port)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self.port)
        self.ps = psutil.Process(self.proc.pid)

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def rate(server: Server, method: str, path: str, count: int, body=None, headers=None) -> float:
    conn = server.conn()
    request(conn, method, path, body, headers)  # warm up
    started = time.perf_counter()
    for _ in range(count):
        status, _ = request(conn, method, path, body, headers)
        assert status < 300, status
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def mint(server: Server, mib: int) -> str:
    body = json.dumps({"contentType": "video/mp4", "maxSizeBytes": mib * BLOCK})
    status, raw = request(
        server.conn(),
        "POST",
        "/scripe/v1/uploads",
        body,
        {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert status == 200, raw
    return json.loads(raw)["data"]["uploadUrl"]


class PeakRss:
    """Samples a server process's RSS every 10 ms inside a `with` block: `before` and `peak`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.before = self.peak = server.ps.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.server.ps.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def warmed(server: Server) -> Server:
    """The server after one 1 MiB upload: moto and botocore load on a server's first upload (a
    start-up cost, which hot_paths.py measures), and a throughput figure should not carry it."""
    put(server, mint(server, 1), 1)
    return server


def put(server: Server, url: str, mib: int) -> tuple[float, int, int]:
    """(MB/s, RSS before, peak RSS during) for one streamed PUT of `mib` MiB."""
    target = urlsplit(url)
    block = os.urandom(BLOCK)
    rss = PeakRss(server).__enter__()
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
    started = time.perf_counter()
    conn.putrequest("PUT", f"{target.path}?{target.query}", skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", target.netloc)
    conn.putheader("Content-Type", "video/mp4")
    conn.putheader("Content-Length", str(mib * BLOCK))
    conn.endheaders()
    for _ in range(mib):
        conn.send(block)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    rss.__exit__()
    assert response.status == 200, response.status
    return mib * BLOCK / elapsed / 1e6, rss.before, rss.peak


def sink(mib: int) -> float:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK.format(port=port, size=mib * BLOCK)], stdout=subprocess.PIPE, text=True
    )
    proc.stdout.readline()
    block = os.urandom(BLOCK)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        for _ in range(mib):
            sock.sendall(block)
        sock.recv(4)
        elapsed = time.perf_counter() - started
    proc.wait(10)
    return mib * BLOCK / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--mints", type=int, default=2000)
    args = parser.parse_args()
    mib = 1 << 20

    cheroot = Server("cheroot")
    try:
        health = rate(cheroot, "GET", "/scripe/v1/health", args.mints)
        mints = rate(
            cheroot,
            "POST",
            "/scripe/v1/uploads",
            args.mints,
            json.dumps({"contentType": "audio/mpeg"}),
            {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        put_mbs, rss0, rss_peak = put(warmed(cheroot), mint(cheroot, args.mib), args.mib)
    finally:
        cheroot.stop()
    waitress = Server("waitress")
    try:
        w_mbs, w_rss0, w_peak = put(warmed(waitress), mint(waitress, args.mib), args.mib)
    finally:
        waitress.stop()
    link = sink(args.mib)

    print(
        f"mint (POST /scripe/v1/uploads): {mints:8.0f} req/s = {mints / health:.2f} x GET /health "
        f"({health:.0f} req/s, same server, one keep-alive client)"
    )
    print(
        f"PUT {args.mib} MiB via cheroot:   {put_mbs:8.1f} MB/s = {put_mbs / link:.2f} x raw loopback sink "
        f"({link:.0f} MB/s)"
    )
    print(
        f"  server RSS {rss0 / mib:.0f} MiB before, peak {rss_peak / mib:.0f} MiB "
        f"(+{(rss_peak - rss0) / mib:.0f} MiB for a {args.mib} MiB body)"
    )
    print(
        f"PUT {args.mib} MiB via waitress:  {w_mbs:8.1f} MB/s = {w_mbs / put_mbs:.2f} x cheroot; "
        f"RSS peak +{(w_peak - w_rss0) / mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""Memory past the caps: whole Scripe flows, far past `--retain`, and the server's RSS as they go.

A server that runs for days without a reset must level off once its stores are full: uploads
(`--retain`), vendor resources (four times that), the journal (`--journal-size`). Here the
caps are small (`--retain 100 --journal-size 100`), so they fill within the first few hundred
flows; then N flows (mint, PUT 1 KiB, redeem as a source, read its job) run from a few
keep-alive clients, and the server's RSS is sampled every `--every` flows. The baseline is the
RSS after the first sample, in the same run: past it, a server that keeps nothing grows by
nothing but the allocator's noise.

    python bench/memory_caps.py [--flows 50000] [--every 5000] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading

import psutil
from put_throughput import KEY, free_port, wait_for

AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
SETS = ("scripe.rate_limit.limit=1000000000",)


def start() -> tuple[subprocess.Popen, int]:
    port = free_port()
    sets = [arg for s in SETS for arg in ("--set", s)]
    command = ["serve", "--port", str(port), "--log-level", "WARNING", "--retain", "100", "--journal-size", "100"]
    code = f"import sys; from upload_emulator.cli import main; sys.exit(main({[*command, *sets]!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port)
    return proc, port


def call(conn, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def flow(conn) -> bool:
    status, body = call(conn, "POST", "/scripe/v1/uploads", b'{"contentType": "text/plain"}', AUTH)
    if status != 200:
        return False
    minted = json.loads(body)["data"]
    path = minted["uploadUrl"].split("/", 3)[3]
    status, _ = call(conn, "PUT", "/" + path, b"x" * 1024, {"Content-Type": "text/plain"})
    redeem = json.dumps({"type": "file", "projectId": "p", "uploadId": minted["id"]}).encode()
    status2, body = call(conn, "POST", "/scripe/v1/sources", redeem, AUTH)
    if status != 200 or status2 != 202:
        return False
    status, _ = call(conn, "GET", f"/scripe/v1/jobs/{json.loads(body)['data']['id']}", None, AUTH)
    return status == 200


def run(port: int, count: int, clients: int) -> int:
    """`count` flows spread over `clients` threads; returns the number that failed."""
    failed = [0] * clients

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(count // clients):
            if not flow(conn):
                failed[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=50_000)
    parser.add_argument("--every", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    proc, port = start()
    server = psutil.Process(proc.pid)
    try:
        run(port, 1_000, args.clients)  # the caps fill, moto and the schemas load
        done, baseline, failures = 0, None, 0
        print(f"{'flows':>8} {'RSS MiB':>9} {'vs first sample':>16}")
        while done < args.flows:
            failures += run(port, args.every, args.clients)
            done += args.every
            rss = server.memory_info().rss / 2**20
            baseline = baseline or rss
            print(f"{done:>8} {rss:>9.1f} {rss / baseline:>15.3f}x", flush=True)
        grown = (rss - baseline) / max(1, done - args.every) * 1000
        print(f"growth after the first sample: {grown * 1024:.1f} KiB per 1,000 flows; failed flows: {failures}")
    finally:
        proc.terminate()
        proc.wait(15)


if __name__ == "__main__":
    sys.exit(main())

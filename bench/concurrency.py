"""32 clients of whole Scripe flows at once: flows/s, p99 and errors, next to a trivial endpoint.

A CI farm or a client's own load test drives the emulator from many connections at once.
Each client here holds its own keep-alive connection and repeats a whole flow: mint an
upload, PUT its bytes to the presigned URL, redeem it as a source. The baseline, measured on
the same server in the same run with the same 32 clients, is `GET /scripe/v1/health`, the
cheapest request the server answers, so the ratio is what the flow costs over the server's
floor. At the end every flow's stored bytes are read back through the control API and
compared by sha256: the lost-bytes figure is counted, not assumed.

    python bench/concurrency.py [--clients 32] [--seconds 10] [--kib 64]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from put_throughput import KEY, Server, free_port, wait_for

AUTH = {"Authorization": f"Bearer {KEY}"}
# Scripe's budget (120 a minute) is lifted, and ingest jobs stay QUEUED for a day so the bytes
# a DONE job would delete are still there to read back at the end.
SETS = ("scripe.rate_limit.limit=1000000000", "scripe.jobs.queued_s=86400")


class FlowServer(Server):
    """`upload-emulator serve` (cheroot) in its own process, with SETS."""

    def __init__(self) -> None:
        self.port = free_port()
        sets = [arg for s in SETS for arg in ("--set", s)]
        command = ["serve", "--port", str(self.port), "--log-level", "WARNING", *sets]
        code = f"import sys; from upload_emulator.cli import main; sys.exit(main({command!r}))"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
        wait_for(self.port)


@dataclass
class Tally:
    """What one client saw: each unit's latency, the failures by kind, and the flows to verify."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    uploads: list[tuple[str, str]] = field(default_factory=list)  # (upload id, sha256 sent)

    def fail(self, why: str) -> None:
        self.errors[why] = self.errors.get(why, 0) + 1


def _send(conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def _health(conn, tally: Tally, _n: int, _payload: bytes) -> None:
    status, _ = _send(conn, "GET", "/scripe/v1/health")
    if status != 200:
        raise _Failed(f"health {status}")


def _flow(conn, tally: Tally, n: int, payload: bytes) -> None:
    body = payload + n.to_bytes(8, "big")  # every flow's bytes differ, so a mix-up would show
    minted = json.dumps({"contentType": "application/pdf", "maxSizeBytes": len(body)})
    status, raw = _send(conn, "POST", "/scripe/v1/uploads", minted, {**AUTH, "Content-Type": "application/json"})
    if status != 200:
        raise _Failed(f"mint {status}")
    upload = json.loads(raw)["data"]
    target = urlsplit(upload["uploadUrl"])
    status, _ = _send(conn, "PUT", f"{target.path}?{target.query}", body, {"Content-Type": "application/pdf"})
    if status != 200:
        raise _Failed(f"put {status}")
    source = json.dumps({"type": "file", "projectId": "prj_bench", "uploadId": upload["id"]})
    status, _ = _send(conn, "POST", "/scripe/v1/sources", source, {**AUTH, "Content-Type": "application/json"})
    if status not in (200, 201, 202):
        raise _Failed(f"redeem {status}")
    tally.uploads.append((upload["id"], hashlib.sha256(body).hexdigest()))


class _Failed(Exception):
    pass


def _client(port: int, unit, until: float, tally: Tally, payload: bytes, first: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = first
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            unit(conn, tally, n, payload)
            tally.latencies.append(time.perf_counter() - started)
        except _Failed as failed:
            tally.fail(str(failed))
        except (OSError, http.client.HTTPException) as broken:
            tally.fail(type(broken).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n += 1
    conn.close()


def run(port: int, unit, clients: int, seconds: float, payload: bytes) -> dict:
    """`clients` threads repeat `unit` for `seconds`; returns units/s, p50, p99 and errors."""
    tallies = [Tally() for _ in range(clients)]
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=_client, args=(port, unit, until, t, payload, i * 1_000_000))
        for i, t in enumerate(tallies)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for t in tallies for x in t.latencies)
    errors: dict[str, int] = {}
    for t in tallies:
        for why, count in t.errors.items():
            errors[why] = errors.get(why, 0) + count
    done = len(latencies)
    return {
        "per_s": done / elapsed,
        "done": done,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (done - 1))] if latencies else float("nan"),
        "errors": errors,
        "error_rate": sum(errors.values()) / max(1, done + sum(errors.values())),
        "uploads": [u for t in tallies for u in t.uploads],
    }


def bytes_lost(server: Server, uploads: list[tuple[str, str]]) -> tuple[int, int]:
    """Read every flow's object back through the control API: (flows checked, flows whose bytes differ)."""
    conn = server.conn()
    lost = 0
    for upload_id, sent in uploads:
        status, stored = _send(conn, "GET", f"/_emulator/uploads/{upload_id}/content")
        if status != 200 or hashlib.sha256(stored).hexdigest() != sent:
            lost += 1
    conn.close()
    return len(uploads), lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--kib", type=int, default=64, help="bytes PUT per flow")
    args = parser.parse_args()
    payload = os.urandom(args.kib * 1024)
    server = FlowServer()
    try:
        run(server.port, _health, 4, 1, payload)  # warm up both paths
        run(server.port, _flow, 4, 1, payload)
        base = run(server.port, _health, args.clients, args.seconds, payload)
        flows = run(server.port, _flow, args.clients, args.seconds, payload)
        checked, lost = bytes_lost(server, flows["uploads"])
    finally:
        server.stop()
    print(f"{args.clients} clients, {args.seconds:g} s each, {args.kib} KiB per PUT (one run, one server)")
    print(f"{'':28}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for name, r in (("GET /scripe/v1/health", base), ("flow (mint, PUT, redeem)", flows)):
        print(f"{name:28}{r['per_s']:10.1f}{r['p50_ms']:10.1f}{r['p99_ms']:10.1f}{sum(r['errors'].values()):10d}")
    print(f"flows/s as a ratio to health req/s: {flows['per_s'] / base['per_s']:.3f}")
    print(f"requests/s in flows (3 per flow) as a ratio to health: {3 * flows['per_s'] / base['per_s']:.3f}")
    print(f"flow p99 as a ratio to health p99: {flows['p99_ms'] / base['p99_ms']:.2f}")
    print(f"error rate: flows {flows['error_rate']:.4%} vs health {base['error_rate']:.4%} {flows['errors'] or ''}")
    print(f"flows held: {flows['done']}; bytes read back: {checked} flows checked by sha256, {lost} lost")


if __name__ == "__main__":
    main()

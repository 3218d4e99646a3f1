"""Clients that trickle their heads, against the requests everyone else sends meanwhile.

`serve` runs in its own process. N connections (256 by default) each send a request head a
byte at a time, one byte per connection every 0.2 s, until the server answers or closes
them. Meanwhile a health check, a reset and a Scripe mint, each sent in two writes (head,
then the rest, as requests and http.client send a POST), are timed; the same three are
timed on the same server with no slow clients first, the baseline of the same run. At the
end every slow connection is put in one of three bins: 408, closed, or never answered
(after the head deadline has passed for all of them: the loop is bounded).

    python bench/slow_heads.py [--clients 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import free_port, wait_for

KEY = "scripe_sk_test_acme_full_access"
HEAD_DEADLINE_S = 10.0  # the watchdog's default: a slow head is cut this long after it began
BODY = b'{"contentType": "audio/mpeg"}'
PROBES = {
    "health": (b"GET /_emulator/health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n\r\n"),
    "reset": (b"POST /_emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"Content-Length: 0\r\n\r\n"),
    "mint": (
        (
            f"POST /scripe/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
        ).encode(),
        b"\r\n" + BODY,
    ),
}
SLOW_HEAD = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 4096


def probe(port: int, head: bytes, rest: bytes) -> tuple[float, bytes]:
    """One request in two writes, 10 ms apart; (seconds to the whole answer, its status line)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head + b"Connection: close\r\n")
        time.sleep(0.01)
        sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return time.perf_counter() - started - 0.01, answer.split(b"\r\n", 1)[0]


class Trickle(threading.Thread):
    """`count` connections trickling SLOW_HEAD; `outcome[n]` is what the server did with each."""

    def __init__(self, port: int, count: int) -> None:
        super().__init__(daemon=True)
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        self.outcome: dict[int, str] = {}
        self.started = time.monotonic()
        self.stop_at = self.started + HEAD_DEADLINE_S + 20  # bounded: long past every deadline

    def run(self) -> None:
        for sock in self.socks:
            sock.setblocking(False)
        sent = 0
        while len(self.outcome) < len(self.socks) and time.monotonic() < self.stop_at and sent < len(SLOW_HEAD):
            for n, sock in enumerate(self.socks):
                if n in self.outcome:
                    continue
                try:
                    answer = sock.recv(4096)
                    timed_out = answer.startswith(b"HTTP/1.1 408")
                    self.outcome[n] = "408" if timed_out else ("closed" if not answer else "other")
                    continue
                except BlockingIOError:
                    pass
                except OSError:
                    self.outcome[n] = "closed"
                    continue
                try:
                    sock.send(SLOW_HEAD[sent : sent + 1])
                except OSError:
                    self.outcome[n] = "closed"
            sent += 1
            time.sleep(0.2)

    def bins(self) -> dict[str, int]:
        found = {"408": 0, "closed": 0, "other": 0, "never answered": 0}
        for n in range(len(self.socks)):
            found[self.outcome.get(n, "never answered")] += 1
        return found

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    command = [sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port), "--log-level", "WARNING"]
    env = {**os.environ, "UPLOAD_EMULATOR_SET": "scripe.rate_limit.limit=1000000000"}
    server = subprocess.Popen(command, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL)
    try:
        wait_for(port)
        for round_ in range(1, args.rounds + 1):
            quiet = {name: probe(port, *parts) for name, parts in PROBES.items()}
            slow = Trickle(port, args.clients)
            slow.start()
            time.sleep(1.0)  # every slow head has begun
            busy = {name: probe(port, *parts) for name, parts in PROBES.items()}
            slow.join()
            bins = slow.bins()
            slow.close()
            print(f"\nround {round_}: {args.clients} connections trickling their heads")
            print(f"{'':8} {'quiet ms':>9} {'beside them ms':>15} {'ratio':>7}  answer")
            for name in PROBES:
                (alone, _), (beside, status) = quiet[name], busy[name]
                print(f"{name:8} {alone * 1000:9.2f} {beside * 1000:15.2f} {beside / alone:7.1f}  {status.decode()}")
            print("slow connections: " + ", ".join(f"{label} {count}" for label, count in bins.items()))
        print(f"\nmedian probe beside slow heads: {statistics.median(b for b, _ in busy.values()) * 1000:.2f} ms")
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()

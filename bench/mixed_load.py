"""A large presigned PUT while wrk floods the same server with mints, against each one alone.

What a user load-testing their own client meets: does an upload starve the API, or the API
the upload? Printed, all from one run: the PUT's MB/s with the flood as a ratio to the same
PUT alone, and the mints' requests/s while the PUT ran (wrk is stopped when it ends) as a
ratio to the mints alone for SECONDS (wrk, one thread, 16 connections, as `mint-vs-prism.sh`
loads them). Each server is warmed with one small upload first. Needs wrk; traffic stays on
loopback, and every load is bounded by wrk's -d.

    python bench/mixed_load.py [--mib 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import Server, mint, put, warmed, wrk_mint_script, wrk_rate

SECONDS = 6  # the mints alone
LONGEST = 120  # the flood during a PUT, which stops it sooner (SIGINT: wrk prints what it measured)


def flood(server: Server, script: str, seconds: int) -> subprocess.Popen:
    url = f"http://127.0.0.1:{server.port}/scripe/v1/uploads"
    return subprocess.Popen(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", script, url], stdout=subprocess.PIPE, text=True
    )


def rate_of(wrk: subprocess.Popen) -> float:
    return wrk_rate(wrk.communicate(timeout=LONGEST + 30)[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    script = wrk_mint_script()
    for _ in range(args.rounds):
        server = warmed(Server("cheroot"))
        try:
            alone_put = put(server, mint(server, args.mib), args.mib)[0]
            alone_mints = rate_of(flood(server, script, SECONDS))
            url = mint(server, args.mib)
            wrk = flood(server, script, LONGEST)
            time.sleep(0.5)  # the flood is under way before the PUT starts
            mixed_put = put(server, url, args.mib)[0]
            wrk.send_signal(signal.SIGINT)
            mixed_mints = rate_of(wrk)
        finally:
            server.stop()
        print(
            f"PUT {args.mib} MiB under the mint flood: {mixed_put:6.0f} MB/s = {mixed_put / alone_put:.2f} x alone"
            f" ({alone_put:.0f} MB/s); mints while it ran: {mixed_mints:6.0f} req/s ="
            f" {mixed_mints / alone_mints:.2f} x alone ({alone_mints:.0f} req/s)"
        )
    Path(script).unlink()


if __name__ == "__main__":
    main()

"""Two checkouts' mints, A/B, in short alternating wrk bursts against servers running side by side.

On these machines the rate of the same server drifts by a fifth within a minute, so two
figures taken a minute apart cannot show a change of a few per cent. Here both servers run
at once (each idle while the other is measured), and each round measures both, in an order
that alternates from round to round: 16 connections for 3 s (requests/s), then 1
connection for 2 s (p50). Printed: each one's medians and all its figures, the ratios of
the medians, and in how many rounds the second was the faster. A checkout is a directory
put first on PYTHONPATH (a `git worktree` of an earlier commit, or this checkout). Needs wrk;
loopback only; every load is bounded by wrk's -d.

    git worktree add /tmp/before <commit>
    python bench/mint_ab.py /tmp/before . [--rounds 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import free_port, wait_for, wrk_mint_script, wrk_rate

LIFTED = "scripe.rate_limit.limit=1000000000"


def start(checkout: str) -> tuple[int, subprocess.Popen]:
    if not (Path(checkout) / "upload_emulator" / "__init__.py").is_file():
        # PYTHONPATH would skip it silently, and the installed package would stand in for it
        sys.exit(f"{checkout} is not a checkout of upload-emulator")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(checkout).resolve()), "UPLOAD_EMULATOR_SET": LIFTED}
    serve = "import sys; from upload_emulator.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", serve, "serve", "--port", str(port), "--log-level", "WARNING"]
    # started outside any checkout, so the current directory puts neither first on sys.path
    server = subprocess.Popen(
        command, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(port)
    except RuntimeError:
        server.kill()  # never left running behind a failed start
        raise
    return port, server


def load(port: int, script: str, connections: int, seconds: int) -> tuple[float, float]:
    """(requests/s, p50 ms) of one wrk run on the Scripe mint."""
    url = f"http://127.0.0.1:{port}/scripe/v1/uploads"
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30).stdout
    p50 = next(line for line in (raw.strip() for raw in out.splitlines()) if line.startswith("50%"))
    return wrk_rate(out), _ms(p50.split()[-1])


def _ms(value: str) -> float:
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * scale
    raise ValueError(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    script = wrk_mint_script()
    names = [args.first, args.second]  # the same checkout twice is an A/A run: the noise alone
    servers: list[tuple[int, subprocess.Popen]] = []
    rates: list[list[float]] = [[], []]
    p50s: list[list[float]] = [[], []]
    try:
        for name in names:
            servers.append(start(name))
            load(servers[-1][0], script, 16, 2)  # warm: moto's background load, first-use caches
        time.sleep(1)
        for round_ in range(args.rounds):
            for side in (0, 1) if round_ % 2 == 0 else (1, 0):
                rates[side].append(load(servers[side][0], script, 16, 3)[0])
                p50s[side].append(load(servers[side][0], script, 1, 2)[1])
    finally:
        for _, server in servers:
            server.terminate()
            server.wait(10)
        Path(script).unlink()
    for side, name in enumerate(names):
        print(
            f"{name}: 16 connections median {statistics.median(rates[side]):.0f} req/s"
            f" {sorted(round(r) for r in rates[side])}; 1 connection p50 median"
            f" {statistics.median(p50s[side]):.3f} ms {sorted(round(p, 3) for p in p50s[side])}"
        )
    faster = sum(b > a for a, b in zip(rates[0], rates[1], strict=True))
    rate_ratio = statistics.median(rates[1]) / statistics.median(rates[0])
    p50_ratio = statistics.median(p50s[1]) / statistics.median(p50s[0])
    print(
        f"{names[1]} / {names[0]}: 16-connection rate {rate_ratio:.3f} (faster in {faster} of {args.rounds}"
        f" rounds); 1-connection p50 {p50_ratio:.3f}"
    )


if __name__ == "__main__":
    main()

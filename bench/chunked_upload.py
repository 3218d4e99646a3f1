"""Adclear's chunked upload against a single presigned PUT of the same bytes, in one run.

1 GiB (by default) sent as 50 MiB chunks with Content-Range to Adclear's API, and the same
size as one presigned S3 PUT (Scripe's mint), each against the same freshly started server
process. Printed: each one's MB/s, the chunked time as a ratio to the single PUT's (target
<= 1.3x), the server's peak RSS growth during each (target < 64 MiB), and MD5 over the same
bytes in this process as the hashing ceiling. Each server takes one small upload first
(`warmed`: moto's one-time import is a start-up cost, not a throughput one). Loops are
bounded; traffic stays on loopback.

    python bench/chunked_upload.py [--mib 1024] [--chunk-mib 50]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from put_throughput import BLOCK, PeakRss, Server, mint, put, request, warmed

ADCLEAR = {"Authorization": "Bearer adc_key_test_acme_marketing", "x-external-user-id": "bench"}


def chunked(server: Server, mib: int, chunk_mib: int) -> tuple[float, int, int]:
    """(MB/s, RSS before, peak RSS during) for one upload of `mib` MiB in `chunk_mib` MiB chunks."""
    total = mib * BLOCK
    body = json.dumps({"fileName": "bench.mp4", "fileSize": total, "contentType": "video/mp4"})
    status, raw = request(
        server.conn(), "POST", "/adclear/v1/uploads", body, {**ADCLEAR, "Content-Type": "application/json"}
    )
    assert status == 200, raw
    url = json.loads(raw)["uploadUrl"]
    block = os.urandom(BLOCK)
    rss = PeakRss(server).__enter__()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    started = time.perf_counter()
    for start in range(0, total, chunk_mib * BLOCK):
        size = min(chunk_mib * BLOCK, total - start)
        conn.putrequest("PUT", url, skip_accept_encoding=True)
        for name, value in {**ADCLEAR, "Content-Range": f"bytes {start}-{start + size - 1}/{total}"}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        for _ in range(size // BLOCK):
            conn.send(block)
        response = conn.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
    elapsed = time.perf_counter() - started
    rss.__exit__()
    assert answer["status"] == "completed", answer
    return total / elapsed / 1e6, rss.before, rss.peak


def md5_speed(mib: int) -> float:
    block, digest = os.urandom(BLOCK), hashlib.md5(usedforsecurity=False)
    started = time.perf_counter()
    for _ in range(mib):
        digest.update(block)
    return mib * BLOCK / (time.perf_counter() - started) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=50)
    args = parser.parse_args()
    mib = 1 << 20
    server = Server("cheroot")
    try:
        single, s_rss0, s_peak = put(warmed(server), mint(server, args.mib), args.mib)
    finally:
        server.stop()
    server = Server("cheroot")
    try:
        chunk, c_rss0, c_peak = chunked(warmed(server), args.mib, args.chunk_mib)
    finally:
        server.stop()
    md5 = md5_speed(args.mib)
    print(f"single presigned PUT, {args.mib} MiB:     {single:8.1f} MB/s, RSS peak +{(s_peak - s_rss0) / mib:.0f} MiB")
    growth = (c_peak - c_rss0) / mib
    print(f"Adclear, {args.mib} MiB in {args.chunk_mib} MiB chunks: {chunk:8.1f} MB/s, RSS peak +{growth:.0f} MiB")
    print(f"chunked time = {single / chunk:.2f} x the single PUT's (target <= 1.3)")
    print(
        f"MD5 alone over the same size: {md5:.0f} MB/s;",
        f"single PUT = {single / md5:.2f} x, chunked = {chunk / md5:.2f} x",
    )


if __name__ == "__main__":
    main()

"""A 1 GiB presigned PUT against MD5 and against moto's own server; Adclear's chunked upload beside it.

1 GiB (by default) as one presigned S3 PUT (Scripe's mint), and the same size sent as 50 MiB
chunks with Content-Range to Adclear's API, each against a freshly started server process;
then the same presigned PUT (SigV4, made by boto3) to moto's standalone server
(`moto_server`, from `moto[server]`: the project's `bench` extra), which is what a user
would otherwise run. Printed: each one's MB/s and the server's peak RSS growth (target
< 64 MiB), MD5 over the same bytes in this process as the hashing ceiling (target >= 0.4x),
the ratio to moto's server (target >= 3x), and the chunked time as a ratio to the single
PUT's. Each server takes one small upload first (`warmed`: moto's one-time import is a
start-up cost, not a throughput one). Loops are bounded; traffic stays on loopback.

    python bench/chunked_upload.py [--mib 1024] [--chunk-mib 50] [--no-moto]
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


def moto_url(server: Server, mib: int) -> str:
    """A SigV4 presigned PUT URL for a new bucket on moto's own server, as boto3 makes one."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{server.port}",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(signature_version="s3v4"),
    )
    s3.create_bucket(Bucket="bench")
    return s3.generate_presigned_url(
        "put_object", Params={"Bucket": "bench", "Key": f"body-{mib}", "ContentType": "video/mp4"}, ExpiresIn=3600
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the set; the order alternates each round")
    parser.add_argument("--no-moto", action="store_true", help="skip moto's own server (needs moto[server])")
    args = parser.parse_args()
    mib = 1 << 20
    for round_ in range(1, args.rounds + 1):
        runs = {"single": lambda: single_put(args.mib), "chunked": lambda: chunked_put(args.mib, args.chunk_mib)}
        if not args.no_moto:
            runs["moto"] = lambda: moto_put(args.mib)
        order = list(runs) if round_ % 2 else list(reversed(runs))
        got = {name: runs[name]() for name in order}  # each on a fresh server process
        md5 = md5_speed(args.mib)
        print(f"\nround {round_} (in the order {', '.join(order)}):")
        for name, label in (
            ("single", "single presigned PUT"),
            ("chunked", f"Adclear in {args.chunk_mib} MiB chunks"),
            ("moto", "moto_server, the same PUT"),
        ):
            if name in got:
                rate, rss0, peak = got[name]
                print(f"  {label:32} {args.mib} MiB: {rate:8.1f} MB/s, RSS peak +{(peak - rss0) / mib:.0f} MiB")
        single, chunk = got["single"][0], got["chunked"][0]
        print(f"  MD5 alone over the same size: {md5:.0f} MB/s", end="; ")
        print(f"single PUT = {single / md5:.2f} x (target >= 0.4), chunked = {chunk / md5:.2f} x")
        if "moto" in got:
            print(f"  single PUT = {single / got['moto'][0]:.2f} x moto_server's (target >= 3)")
        print(f"  chunked time = {single / chunk:.2f} x the single PUT's")


def single_put(mib: int) -> tuple[float, int, int]:
    server = Server("cheroot")
    try:
        return put(warmed(server), mint(server, mib), mib)
    finally:
        server.stop()


def chunked_put(mib: int, chunk_mib: int) -> tuple[float, int, int]:
    server = Server("cheroot")
    try:
        return chunked(warmed(server), mib, chunk_mib)
    finally:
        server.stop()


def moto_put(mib: int) -> tuple[float, int, int]:
    server = Server("moto")
    try:
        put(server, moto_url(server, 1), 1)  # warmed, as the emulator is
        return put(server, moto_url(server, mib), mib)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""A bounded soak: thousands of flows against `upload-emulator serve` under a low descriptor limit.

The server runs in its own process (so its memory and descriptors are its own) with 256
file descriptors and `--retain 300`, so retention is forgetting old uploads most of the run.
After a warm-up, memory and descriptors must level off; then the test runs the server out of
descriptors with idle connections and checks that it backs off quietly and recovers.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time

import psutil
import pytest
import requests
from support import FULL, free_port, wait_until_healthy

pytestmark = pytest.mark.slow

ROUNDS, FLOWS = 4, 600
FD_LIMIT = 256
SCRIPE = {"Authorization": f"Bearer {FULL}"}


def low_descriptor_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("soak") / "server.log"
    command = [
        *(sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port)),
        *("--retain", "300", "--log-level", "WARNING", "--set", "scripe.rate_limit.limit=1000000000"),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=low_descriptor_limit)
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, process, log=log)
    yield url, psutil.Process(process.pid), log
    process.terminate()
    process.wait(10)


def flow(http: requests.Session, url: str, n: int) -> None:
    minted = http.post(f"{url}/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=SCRIPE, timeout=10)
    assert minted.status_code == 200, minted.text
    upload = minted.json()["data"]
    body = os.urandom(1536 * 1024) if n % 25 == 0 else b"%d" % n * 200  # some spill to disk
    stored = http.put(upload["uploadUrl"], data=body, headers={"Content-Type": "audio/mpeg"}, timeout=10)
    assert stored.status_code == 200, stored.text
    source = {"type": "file", "projectId": "prj_1", "uploadId": upload["id"]}
    redeemed = http.post(f"{url}/scripe/v1/sources", json=source, headers=SCRIPE, timeout=10)
    assert redeemed.status_code == 202, redeemed.text


def test_memory_and_descriptors_level_off_over_thousands_of_flows(served):
    url, server, _ = served
    samples = []
    with requests.Session() as http:
        for round_ in range(ROUNDS):
            for n in range(FLOWS):
                flow(http, url, round_ * FLOWS + n)
            samples.append((server.memory_info().rss, server.num_fds()))
    uploads = requests.get(f"{url}/_emulator/uploads", timeout=10).json()
    assert len(uploads["data"] if isinstance(uploads, dict) else uploads) <= 300  # retention is working
    (rss_warm, fds_warm), (rss_end, fds_end) = samples[1], samples[-1]
    growth_mib = (rss_end - rss_warm) / 2**20
    assert growth_mib < 12, f"RSS grew {growth_mib:.1f} MiB over {(ROUNDS - 2) * FLOWS} flows: {samples}"
    assert fds_end <= fds_warm + 4, samples
    assert requests.post(f"{url}/_emulator/reset", timeout=10).status_code == 204
    after_reset = requests.get(f"{url}/_emulator/uploads", timeout=10).json()
    assert not (after_reset["data"] if isinstance(after_reset, dict) else after_reset)
    assert server.num_fds() <= fds_warm + 4


def test_out_of_descriptors_the_server_backs_off_quietly_and_recovers(served):
    url, _, log = served
    before = log.stat().st_size
    held = []
    try:
        for _ in range(FD_LIMIT + 40):  # more idle connections than the server has descriptors
            held.append(socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5))
        time.sleep(1.5)  # the accept loop meets EMFILE over and over meanwhile
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the server did not recover after the connections closed"
        time.sleep(0.1)
    with requests.Session() as http:
        flow(http, url, 1)  # a whole flow works again
    logged = log.read_bytes()[before:]
    assert b"accept loop failed" in logged  # it did run out, and said so
    assert len(logged) < 20_000, f"{len(logged)} bytes logged while out of descriptors"

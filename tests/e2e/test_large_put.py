"""A 1 GiB PUT streams through the emulator without holding the body in memory."""

from __future__ import annotations

import hashlib
import os
import threading
from http.client import HTTPConnection
from urllib.parse import urlsplit

import psutil
from support import FULL

from upload_emulator.app import emulator_of

GIB = 1024 * 1024 * 1024
BLOCK = 1024 * 1024
# The whole body is 1024 MiB; growth is bounded by buffers (a few MiB), moto's bookkeeping
# and the read-back client. A server that held the body would grow by 1 GiB or more.
MAX_GROWTH = 160 * 1024 * 1024


class PeakRss:
    """Samples this process's resident memory in the background (the server runs in-process)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_a_1_gib_put_is_streamed_hashed_and_read_back_byte_identical(live, http, s3):
    minted = http.post(
        f"{live.url}/scripe/v1/uploads",
        headers={"Authorization": f"Bearer {FULL}"},
        json={"contentType": "video/mp4", "maxSizeBytes": GIB},
    ).json()["data"]
    block = os.urandom(BLOCK)
    sent = hashlib.sha256()
    target = urlsplit(minted["uploadUrl"])
    with PeakRss() as rss:
        conn = HTTPConnection(target.hostname, target.port, timeout=120)
        conn.putrequest("PUT", f"{target.path}?{target.query}", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target.netloc)
        conn.putheader("Content-Type", "video/mp4")
        conn.putheader("Content-Length", str(GIB))
        conn.endheaders()
        for i in range(GIB // BLOCK):
            chunk = block[i % 251 :] + block[: i % 251]  # vary the blocks so a reordering would show
            sent.update(chunk)
            conn.send(chunk)
        response = conn.getresponse()
        response.read()
        conn.close()
    assert response.status == 200
    growth = rss.peak - rss.start
    assert growth < MAX_GROWTH, f"RSS grew by {growth / 2**20:.0f} MiB during a 1 GiB PUT"

    record = emulator_of(live.app).uploads.get(minted["id"])
    assert (record.size, record.sha256) == (GIB, sent.hexdigest())
    got = hashlib.sha256()
    for chunk in s3.get_object(Bucket=record.bucket, Key=record.key)["Body"].iter_chunks(BLOCK):
        got.update(chunk)
    assert got.hexdigest() == sent.hexdigest()

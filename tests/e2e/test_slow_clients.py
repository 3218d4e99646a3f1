"""Slow clients cannot hold the server: deadlines cut them, and lanes keep threads for the rest.

These run their own small server (20 threads: 4 for uploads, 16 for uploads plus API calls,
4 more for the control plane) with a watchdog whose windows are one second, so each case
takes a few seconds of real time, not minutes.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from support import FULL, make_app

from upload_emulator.app import emulator_of
from upload_emulator.serving import lanes as capacity
from upload_emulator.serving.server import LiveServer
from upload_emulator.serving.watchdog import Watchdog

THREADS = 20
UPLOAD_THREADS = THREADS - capacity.UPLOAD_RESERVE
SCRIPE = {"Authorization": f"Bearer {FULL}"}


@pytest.fixture(scope="module")
def small_server():
    app = make_app()
    watchdog = Watchdog(header_deadline=1.0, body_window=1.0, tick=0.05)
    with LiveServer(app, threads=THREADS, watchdog=watchdog) as server:
        yield server
    emulator_of(app).close()


@pytest.fixture
def server(small_server):
    emulator_of(small_server.app).reset()
    yield small_server
    assert not emulator_of(small_server.app).take_server_errors()


def mint(server) -> dict:
    response = requests.post(
        f"{server.url}/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=SCRIPE, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def connect(server) -> socket.socket:
    target = urlsplit(server.url)
    return socket.create_connection((target.hostname, target.port), timeout=10)


def put_head(upload_url: str, length: int) -> bytes:
    target = urlsplit(upload_url)
    return (
        f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Content-Type: audio/mpeg\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def read_answer(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.split(b"\r\n\r\n", 1)[1]:
                break
    except OSError:
        pass
    return answer


class Trickle(threading.Thread):
    """An upload that keeps its thread busy at 2 KiB per 0.2 s: slow, but never too slow."""

    def __init__(self, server, size: int = 4 << 20) -> None:
        super().__init__(daemon=True)
        self.sock = connect(server)
        self.sock.sendall(put_head(mint(server)["uploadUrl"], size))
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.wait(0.2):
                self.sock.sendall(b"x" * 2048)
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        self.join(5)
        self.sock.close()


def drip(sock: socket.socket, data: bytes) -> None:
    """One byte every 0.2 s, until the data ends or the server stops listening."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(0.2)


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_health_and_a_mint_answer_at_once_while_every_upload_thread_is_held(server):
    lanes = server.server.lanes
    uploads = [Trickle(server) for _ in range(UPLOAD_THREADS)]
    for upload in uploads:
        upload.start()
    try:
        wait_for(lambda: lanes.busy()[capacity.UPLOAD] == UPLOAD_THREADS)
        started = time.monotonic()
        health = requests.get(f"{server.url}/_emulator/health", timeout=5)
        minted = mint(server)
        took = time.monotonic() - started
        assert health.status_code == 200 and minted["id"].startswith("upl_")
        assert took < 1.0, f"health and a mint took {took:.2f} s"
        assert lanes.busy()[capacity.UPLOAD] == UPLOAD_THREADS  # still held, not cut: they keep moving
    finally:
        for upload in uploads:
            upload.close()


def test_an_upload_past_its_lanes_share_gets_s3s_503_at_once_and_stores_nothing(server):
    emu = emulator_of(server.app)
    uploads = [Trickle(server) for _ in range(UPLOAD_THREADS)]
    for upload in uploads:
        upload.start()
    try:
        wait_for(lambda: server.server.lanes.busy()[capacity.UPLOAD] == UPLOAD_THREADS)
        extra = mint(server)
        body = b"y" * (1 << 20)
        started = time.monotonic()
        refused = requests.put(extra["uploadUrl"], data=body, headers={"Content-Type": "audio/mpeg"}, timeout=5)
        assert time.monotonic() - started < 1.0
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert b"<Code>ServiceUnavailable</Code>" in refused.content
        assert emu.uploads.get(extra["id"]).state == "pending"
        assert emu.journal.entries(vendor="s3")[-1]["status"] == 503
    finally:
        for upload in uploads:
            upload.close()
    wait_for(lambda: server.server.lanes.busy()[capacity.UPLOAD] == 0)
    again = requests.put(extra["uploadUrl"], data=b"z" * 1000, headers={"Content-Type": "audio/mpeg"}, timeout=5)
    assert again.status_code == 200, again.text


def test_a_client_that_drips_its_headers_is_cut_with_408_after_the_header_deadline(server):
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\n")
        answer = b""
        for _ in range(30):
            try:
                sock.sendall(b"X")
            except OSError:
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                answer += sock.recv(4096)
            except BlockingIOError:
                pass
            except OSError:
                break
            finally:
                sock.setblocking(True)
            if answer:
                break
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert 0.9 < took < 3.0


def test_an_upload_body_that_drips_is_cut_answered_400_and_stores_nothing(server):
    emu = emulator_of(server.app)
    upload = mint(server)
    with connect(server) as sock:
        sock.sendall(put_head(upload["uploadUrl"], 100_000))
        started = time.monotonic()
        drip(sock, b"x" * 8)  # 8 bytes in 1.6 s: under 1 KiB in the one-second window
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"<Code>IncompleteBody</Code>" in answer
    assert time.monotonic() - started < 4.0
    assert emu.uploads.get(upload["id"]).state == "pending"
    record = emu.uploads.get(upload["id"])
    assert emu.storage.head(record.bucket, record.key) is None
    assert emu.journal.entries(vendor="s3")[-1]["status"] == 400


def test_a_json_body_that_drips_is_cut_with_the_vendors_400_and_creates_nothing(server):
    emu = emulator_of(server.app)
    body = b'{"contentType": "audio/mpeg"}' + b" " * 200
    head = (
        f"POST /scripe/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {FULL}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(server) as sock:
        sock.sendall(head)
        drip(sock, body[:10])
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b'"invalid_request"' in answer
    assert emu.uploads.all() == []
    assert emu.journal.entries(vendor="scripe")[-1]["status"] == 400


def test_time_the_emulator_spends_working_is_not_counted_against_the_client(server):
    """A 1.5 s injected delay before the body is read, with a one-second body window."""
    upload = mint(server)
    handle = requests.post(
        f"{server.url}/_emulator/faults",
        json={"vendor": "s3", "operationId": "PutObject", "delayMs": 1500, "times": 1},
        timeout=5,
    )
    assert handle.status_code == 201, handle.text
    stored = requests.put(upload["uploadUrl"], data=b"w" * 5000, headers={"Content-Type": "audio/mpeg"}, timeout=10)
    assert stored.status_code == 200, stored.text
    assert emulator_of(server.app).uploads.get(upload["id"]).state != "pending"

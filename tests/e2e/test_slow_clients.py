"""Slow clients cannot hold the server: deadlines cut them, the pool grows past heads that trickle,
and lanes keep threads for the rest.

These run their own small server (a pool of 20 threads to start with: 4 for uploads, 16 for
uploads plus API calls, 4 more for the control plane) with a watchdog whose windows are one
second, so each case takes a few seconds of real time, not minutes. What they assert is
behaviour (answered, 408, cut, stored or not), never how long something took.
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
        health = requests.get(f"{server.url}/_emulator/health", timeout=30)
        minted = mint(server)
        assert health.status_code == 200 and minted["id"].startswith("upl_")
        assert lanes.busy()[capacity.UPLOAD] == UPLOAD_THREADS  # answered while they were all still held
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
        refused = requests.put(extra["uploadUrl"], data=body, headers={"Content-Type": "audio/mpeg"}, timeout=30)
        assert server.server.lanes.busy()[capacity.UPLOAD] == UPLOAD_THREADS  # refused while the lane was full
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
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"status": 408' in answer  # in the control plane's own shape (problem+json)


def test_an_upload_body_that_drips_is_cut_answered_400_and_stores_nothing(server):
    emu = emulator_of(server.app)
    upload = mint(server)
    with connect(server) as sock:
        sock.sendall(put_head(upload["uploadUrl"], 100_000))
        drip(sock, b"x" * 8)  # 8 bytes in 1.6 s: under 1 KiB in the one-second window
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"<Code>IncompleteBody</Code>" in answer
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


class TrickledHeads(threading.Thread):
    """Many connections, each sending its head a byte at a time (one byte each every 0.2 s), until
    the server answers or closes it. `outcome` says, per connection, what the server did."""

    HEAD = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 4096

    def __init__(self, server, count: int) -> None:
        super().__init__(daemon=True)
        self.socks = [connect(server) for _ in range(count)]
        self.outcome: dict[int, str] = {}
        self.sent = 0

    def run(self) -> None:
        for sock in self.socks:
            sock.setblocking(False)
        while len(self.outcome) < len(self.socks) and self.sent < len(self.HEAD):
            for n, sock in enumerate(self.socks):
                if n not in self.outcome:
                    self._step(n, sock)
            self.sent += 1
            time.sleep(0.2)

    def _step(self, n: int, sock: socket.socket) -> None:
        try:
            answer = sock.recv(65536)
        except BlockingIOError:
            answer = None
        except OSError:
            self.outcome[n] = "closed"
            return
        if answer is not None:
            self.outcome[n] = answer.split(b"\r\n", 1)[0].decode() if answer else "closed"
            return
        try:
            sock.send(self.HEAD[self.sent : self.sent + 1])
        except OSError:
            self.outcome[n] = "closed"

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def sent_in_two_writes(server, head: bytes, rest: bytes) -> bytes:
    """A request whose head and the rest go out apart (as requests and http.client send a POST),
    asking the server to close once it has answered; everything it sent."""
    with connect(server) as sock:
        sock.sendall(head + b"Connection: close\r\n")
        time.sleep(0.05)
        sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


@pytest.fixture
def patient_heads_server():
    """A server of 20 threads to start with, whose head deadline outlasts the test's probes."""
    app = make_app()
    with LiveServer(app, threads=THREADS, watchdog=Watchdog(header_deadline=8.0, body_window=8.0, tick=0.05)) as live:
        yield live
    emulator_of(app).close()


def test_256_clients_trickling_their_heads_starve_no_one_and_each_gets_408_or_is_closed(patient_heads_server):
    server = patient_heads_server
    slow = TrickledHeads(server, 256)
    slow.start()
    try:
        wait_for(lambda: slow.sent >= 3)  # every slow head has begun, and holds a worker while it trickles
        health = sent_in_two_writes(server, b"GET /_emulator/health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n\r\n")
        reset = sent_in_two_writes(
            server, b"POST /_emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"Content-Length: 0\r\n\r\n"
        )
        body = b'{"contentType": "audio/mpeg"}'
        minted = sent_in_two_writes(
            server,
            (
                f"POST /scripe/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {FULL}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            ).encode(),
            b"\r\n" + body,
        )
        answered_while_slow = len(slow.outcome)
        assert health.startswith(b"HTTP/1.1 200 ") and reset.startswith(b"HTTP/1.1 204 "), (health[:80], reset[:80])
        assert minted.startswith(b"HTTP/1.1 200 "), minted[:300]
        assert answered_while_slow < 256  # the slow heads were all still trickling: nobody waited for them
        slow.join(60)  # each is cut at its head deadline; the loop ends when all have an outcome
        assert len(slow.outcome) == 256, f"{256 - len(slow.outcome)} slow connections were never answered"
        assert set(slow.outcome.values()) <= {"HTTP/1.1 408 Request Timeout", "closed"}, set(slow.outcome.values())
        assert server.server.pool.grown >= 1  # the pool grew past the trickling heads
    finally:
        slow.close()

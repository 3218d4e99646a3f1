"""The server's own guards: lanes and a growing pool that keep threads free, and an accept loop that backs off."""

from __future__ import annotations

import errno
import logging
import os
import socket

from upload_emulator.serving import lanes as capacity
from upload_emulator.serving.pool import Pool
from upload_emulator.serving.server import MAX_BACKOFF, LiveServer, _Server
from upload_emulator.serving.watchdog import BODY, HEADERS, Meter, Watchdog


def test_uploads_take_at_most_their_share_and_the_control_plane_is_never_refused():
    lanes = capacity.Lanes(threads=20)
    assert [lanes.enter(capacity.UPLOAD) for _ in range(5)] == [True] * 4 + [False]
    assert all(lanes.enter(capacity.API) for _ in range(12))
    assert not lanes.enter(capacity.API)  # 4 uploads + 12 calls: the last 4 threads are the control plane's
    assert all(lanes.enter(capacity.CONTROL) for _ in range(10))
    lanes.leave(capacity.UPLOAD)
    assert lanes.enter(capacity.API) and not lanes.enter(capacity.UPLOAD)


def test_a_request_falls_into_its_lane_by_path_and_body():
    assert capacity.lane_of("/_emulator/health", None, False) == capacity.CONTROL
    assert capacity.lane_of("/s3/b/k", 10 << 20, False) == capacity.UPLOAD
    assert capacity.lane_of("/adclear/v1/uploads/x", 100, True) == capacity.UPLOAD
    assert capacity.lane_of("/scripe/v1/uploads", 40, False) == capacity.API


def test_the_accept_loop_backs_off_logs_once_and_recovers(monkeypatch, caplog):
    server = _Server(("127.0.0.1", 0), lambda env, start: [], threads=4, watchdog=Watchdog())
    slept: list[float] = []
    monkeypatch.setattr("upload_emulator.serving.server.time.sleep", slept.append)
    with caplog.at_level(logging.WARNING, logger="upload_emulator.server"):
        for _ in range(12):  # as cheroot's serve loop reports each failure of its accept
            try:
                raise OSError(errno.EMFILE, "Too many open files")
            except OSError:
                server.error_log("Error in HTTPServer.serve", level=logging.ERROR, traceback=True)
    assert server.accept_failures == 12
    assert slept == sorted(slept) and slept[0] < 0.1 and slept[-1] == MAX_BACKOFF
    assert len([r for r in caplog.records if "accept loop failed" in r.message]) == 1
    assert not [r for r in caplog.records if "Error in HTTPServer.serve" in r.message]


class _Sock:
    def __init__(self) -> None:
        self.sent = b""
        self.shut = False

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown(self, how: int) -> None:
        self.shut = True


def test_the_watchdog_cuts_slow_headers_and_a_stalled_body_but_not_a_working_app_and_writes_nothing():
    dog = Watchdog(header_deadline=10, body_window=10)
    headers, body, working = Meter(_Sock()), Meter(_Sock()), Meter(_Sock())  # type: ignore[arg-type]
    for meter in (headers, body, working):
        dog.watch(meter)
    headers.phase, headers.since = HEADERS, 0.0
    body.phase, body.mark_at, body.mark_bytes, body.received = BODY, 0.0, 0, 1023
    working.mark_at = 0.0  # headers done, the application busy: not reading
    dog.check(now=9.0)
    assert not any(m.cut for m in (headers, body, working))
    dog.check(now=10.5)
    assert headers.cut == "headers" and headers.sock.shut and headers.sock.sent == b""  # type: ignore[attr-defined]
    assert body.cut == "body" and body.sock.shut and body.sock.sent == b""  # type: ignore[attr-defined]
    assert working.cut is None and dog.cuts == 2


def test_a_body_that_keeps_coming_resets_the_window():
    dog = Watchdog(body_window=10)
    meter = Meter(_Sock())  # type: ignore[arg-type]
    dog.watch(meter)
    meter.phase, meter.mark_at = BODY, 0.0
    for second in range(1, 60):
        meter.received += 2048  # 2 KiB a second
        dog.check(now=float(second))
    assert meter.cut is None


def test_pipelined_requests_on_one_connection_are_all_answered_in_order():
    def app(environ, start_response):
        body = environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Length", str(len(body))), ("Content-Type", "text/plain")])
        return [body]

    with LiveServer(app, threads=4) as live, socket.create_connection((live.host, live.port), timeout=5) as sock:
        sock.sendall(b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(3)))
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 3 or not answer.endswith(b"/2"):
            answer += sock.recv(65536)
    assert [part.rsplit(b"\r\n\r\n", 1)[-1] for part in answer.split(b"HTTP/1.1 200")[1:]] == [b"/0", b"/1", b"/2"]


def test_a_body_read_into_a_buffer_stops_at_its_length_and_the_next_request_is_intact():
    got: list[bytes] = []

    def app(environ, start_response):
        stream, buffer, body = environ["wsgi.input"], bytearray(1 << 20), b""
        while n := stream.readinto(buffer):  # as the body path reads a large body
            body += bytes(buffer[:n])
        got.append(body)
        start_response("200 OK", [("Content-Length", str(len(body))), ("Content-Type", "text/plain")])
        return [b"x" * len(body)]

    big = os.urandom(3 * (1 << 20) + 11)
    head = b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big)
    with LiveServer(app, threads=4) as live, socket.create_connection((live.host, live.port), timeout=5) as sock:
        sock.sendall(head + big + b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nend")
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 2 or not answer.endswith(b"xxx"):
            answer += sock.recv(1 << 20)
    assert got == [big, b"end"]


class _Threads:
    """What the pool keeper reads and calls of cheroot's ThreadPool."""

    def __init__(self, queued: int, idle: int) -> None:
        self.qsize, self.idle = queued, idle
        self.grew: list[int] = []
        self.shrank: list[int] = []

    def grow(self, amount: int) -> None:
        self.grew.append(amount)

    def shrink(self, amount: int) -> None:
        self.shrank.append(amount)


def test_the_pool_grows_while_connections_wait_with_no_idle_worker_and_retires_the_extra_when_quiet():
    threads = _Threads(queued=40, idle=0)
    pool = Pool(threads)
    pool.check(now=0.0)
    assert threads.grew == [40 + Pool.SPARE]
    threads.qsize, threads.idle = 3, 5  # a worker is free: the queue drains by itself
    pool.check(now=1.0)
    assert threads.grew == [40 + Pool.SPARE]
    threads.qsize = 0
    pool.check(now=1.0 + Pool.QUIET / 2)
    assert threads.shrank == []
    pool.check(now=2.0 + Pool.QUIET)
    assert threads.shrank == [40 + Pool.SPARE]
    pool.check(now=100.0 + Pool.QUIET)
    assert threads.shrank == [40 + Pool.SPARE]  # once: nothing more was added

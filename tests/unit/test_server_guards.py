"""The server's own guards: lanes that keep threads free, and an accept loop that backs off."""

from __future__ import annotations

import errno
import http.client
import io
import logging
import os
import socket
import threading
import time

from upload_emulator import capacity
from upload_emulator.server import MAX_BACKOFF, LiveServer, _MeteredReader, _Server
from upload_emulator.watchdog import BODY, HEADERS, Meter, Watchdog


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
    server.ready = True
    slept: list[float] = []
    monkeypatch.setattr("upload_emulator.server.time.sleep", slept.append)
    failures = iter(range(12))

    def run(interval):
        if next(failures, None) is not None:
            raise OSError(errno.EMFILE, "Too many open files")

    with caplog.at_level(logging.WARNING, logger="upload_emulator.server"):
        server._run_connections(run, 0.5)
    assert server.accept_failures == 12
    assert slept == sorted(slept) and slept[0] < 0.1 and slept[-1] == MAX_BACKOFF
    assert len([r for r in caplog.records if "accept loop failed" in r.message]) == 1


class _Sock:
    def __init__(self) -> None:
        self.sent = b""
        self.shut = False

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown(self, how: int) -> None:
        self.shut = True


def test_the_watchdog_cuts_slow_headers_with_408_and_a_stalled_body_but_not_a_working_app():
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
    assert headers.cut == "headers" and headers.sock.sent.startswith(b"HTTP/1.1 408 ")  # type: ignore[attr-defined]
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


def _served_by_selector_and_threads(linger: float, requests: int) -> tuple[int, set[int]]:
    """Serve `requests` back-to-back requests on one keep-alive connection; how many went back
    through the selector, and which worker threads answered."""
    threads: set[int] = set()

    def app(environ, start_response):
        threads.add(threading.get_ident())
        start_response("200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")])
        return [b"ok"]

    with LiveServer(app, threads=8, quick=False) as live:  # the worker path, which the quick lane skips
        live.server.linger = linger
        returned = 0
        put_conn = live.server.put_conn

        def counting_put_conn(conn):
            nonlocal returned
            returned += 1
            put_conn(conn)

        live.server.put_conn = counting_put_conn  # type: ignore[method-assign]
        connection = http.client.HTTPConnection(live.host, live.port, timeout=5)
        for _ in range(requests):
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"ok"
        counted = returned  # before the close, which may race the server's stop
        connection.close()
    return counted, threads


def test_a_keep_alive_client_in_a_loop_keeps_its_worker_instead_of_a_trip_through_the_selector():
    returned, threads = _served_by_selector_and_threads(linger=2.0, requests=20)
    assert returned == 0 and len(threads) == 1
    returned, threads = _served_by_selector_and_threads(linger=0, requests=20)
    assert returned >= 19  # without lingering, every request goes back (the last may not have yet)


def test_the_reader_says_whether_a_next_request_is_here_without_waiting_for_one():
    near, far = socket.socketpair()
    near.settimeout(30)
    reader = _MeteredReader(near, Meter(near), 8192)
    assert isinstance(reader, io.BufferedReader)  # C's, not cheroot's pure-Python one
    far.sendall(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
    assert reader.readline() == b"GET /a HTTP/1.1\r\n"
    assert reader.readline() == b"\r\n"
    assert reader.has_data()  # the second request is already in the buffer
    assert reader.read(19) == b"GET /b HTTP/1.1\r\n\r\n"
    started = time.monotonic()
    assert not reader.has_data()  # nothing more: answered at once, not after the 30 s timeout
    assert time.monotonic() - started < 1
    assert near.gettimeout() == 30
    assert reader.bytes_read == 19 and reader.meter.received == 38
    far.sendall(b"GET /c")
    time.sleep(0.05)
    assert reader.has_data()  # readable on the socket counts too
    near.close()
    far.close()


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
        while n := stream.readinto(buffer):  # as the spool reads a large body
            body += bytes(buffer[:n])
        got.append(body)
        start_response("200 OK", [("Content-Length", str(len(body))), ("Content-Type", "text/plain")])
        return [b"x" * len(body)]

    big = os.urandom(3 * (1 << 20) + 11)  # too large for the quick lane: a worker reads it from the socket
    head = b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big)
    with LiveServer(app, threads=4) as live, socket.create_connection((live.host, live.port), timeout=5) as sock:
        sock.sendall(head + big + b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nend")
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 2 or not answer.endswith(b"xxx"):
            answer += sock.recv(1 << 20)
    assert got == [big, b"end"]

"""The quick lane answers complete plain requests on the selector thread, exactly as cheroot would."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest
import requests

from upload_emulator.app import create_app, emulator_of
from upload_emulator.quicklane import INLINE_RESPONSE_BYTES, parse
from upload_emulator.server import KEEPALIVE_CONNECTIONS, LiveServer
from upload_emulator.wire import AFTER_SEND, WHOLE_BODY

PLAIN = b"POST /v1/uploads?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"


def test_a_complete_plain_request_is_taken_with_its_exact_size():
    req = parse(PLAIN + b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
    assert req is not None
    assert (req.method, req.url, req.body, req.size) == (b"POST", b"/v1/uploads?x=1", b"hello", len(PLAIN))
    assert req.keep_alive


@pytest.mark.parametrize(
    "raw",
    [
        PLAIN[:-1],  # the body has not all arrived
        b"GET / HTTP/1.1\r\nHost: h\r\n",  # nor has the head
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
        b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
        b"GET /a%20b HTTP/1.1\r\nHost: h\r\n\r\n",  # cheroot decodes escapes in its own way
        b"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # no Host: cheroot's 400 says why
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    ],
)
def test_anything_less_plain_is_left_unread_for_cheroot(raw):
    assert parse(raw) is None


def test_one_empty_line_before_a_request_is_skipped_as_cheroot_skips_it():
    req = parse(b"\r\n" + PLAIN)
    assert req is not None and req.size == len(PLAIN) + 2 and req.body == b"hello"
    assert parse(b"\r\n\r\n" + PLAIN) is None  # more than one: cheroot's own answer


def test_connection_close_in_any_case_or_list_ends_keep_alive():
    assert not parse(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n").keep_alive


def _recording_app(seen: list):
    def app(environ, start_response):
        seen.append(
            {
                **{k: v for k, v in environ.items() if k not in ("wsgi.input", "wsgi.errors")},
                "body": environ["wsgi.input"].read(),
                "thread": threading.get_ident(),
            }
        )
        path = environ["PATH_INFO"]
        if path == "/stream":  # no declared length: cheroot chunks it
            start_response("200 OK", [("Content-Type", "text/plain")])
            return (b"x" * 1000 for _ in range(1000))
        if path == "/empty":
            start_response("204 No Content", [])
            return []
        if path == "/close":
            start_response("200 OK", [("Content-Length", "2"), ("Connection", "close")])
            return [b"ok"]
        if path == "/big":
            size = INLINE_RESPONSE_BYTES
            start_response("200 OK", [("Content-Length", str(size))])
            return [b"b" * size]
        body = b"answer to " + environ["REQUEST_URI"].encode()
        start_response("201 Created", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return re.sub(rb"Date: [^\r]*\r\n", b"", answer)


REQUESTS = [
    b"POST /v1/x?a=1&b=%20 HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Accept: a\r\nAccept: b\r\nX-Dup: 1\r\nX-Dup: 2\r\nAuthorization: Bearer k\r\n\r\n{}",
    b"GET /stream HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /empty HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n",
    b"DELETE /close HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
]


@pytest.mark.parametrize("raw", REQUESTS, ids=lambda raw: raw.split(b" ")[1].decode())
def test_the_app_sees_the_same_environ_and_the_client_the_same_bytes_as_from_cheroot(raw):
    raw = raw if b"Connection: close" in raw or raw.startswith(b"DELETE") else raw[:-2] + b"Connection: close\r\n\r\n"
    answers, environs = {}, {}
    for quick in (True, False):
        seen: list = []
        with LiveServer(_recording_app(seen), quick=quick) as live:
            answers[quick] = _exchange(live.port, raw)
            assert live.server.quick is None or live.server.quick.answered == len(seen) > 0
        environs[quick] = [
            {k: v for k, v in env.items() if k not in ("REMOTE_PORT", "SERVER_PORT", "thread", AFTER_SEND, WHOLE_BODY)}
            for env in seen
        ]
        assert all((AFTER_SEND in env) is quick for env in seen)  # the two things only the quick lane offers
        assert all(env[WHOLE_BODY] == env["body"] for env in seen) if quick else all(WHOLE_BODY not in e for e in seen)
    assert environs[True] == environs[False]
    assert answers[True] == answers[False]
    assert answers[True].startswith(b"HTTP/1.1 ")


def _client_in_a_loop(port: int, requests_: int) -> None:
    """Like any HTTP client in a loop: each request in one write, its answer read before the next."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for n in range(requests_):
            sock.sendall(b"POST /v1/x?n=%d HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}" % n)
            answer = b""
            while not answer.endswith(b"answer to /v1/x?n=%d" % n):
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 201 ")


def test_sixteen_clients_in_a_loop_are_all_answered_by_one_thread_with_no_worker_involved():
    seen: list = []
    with LiveServer(_recording_app(seen)) as live:
        clients = [threading.Thread(target=_client_in_a_loop, args=(live.port, 10)) for _ in range(16)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        assert live.server.quick.answered == len(seen) == 160
    assert len({env["thread"] for env in seen}) == 1


def test_without_the_quick_lane_the_same_clients_take_many_worker_threads():
    seen: list = []
    with LiveServer(_recording_app(seen), quick=False) as live:
        clients = [threading.Thread(target=_client_in_a_loop, args=(live.port, 10)) for _ in range(16)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    assert len(seen) == 160 and len({env["thread"] for env in seen}) > 1


def test_more_idle_keep_alive_clients_than_cheroots_ten_all_stay_connected():
    seen: list = []
    with LiveServer(_recording_app(seen)) as live:
        sessions = [requests.Session() for _ in range(24)]
        for _ in range(2):  # the second round finds all 24 connections idle in the selector
            for http in sessions:
                answer = http.get(f"{live.url}/v1/x", timeout=5)
                assert answer.status_code == 201 and "close" not in answer.headers.get("Connection", "")
        for http in sessions:
            http.close()
    assert KEEPALIVE_CONNECTIONS > 24


def test_a_body_still_arriving_goes_to_a_worker_and_is_answered_whole():
    seen: list = []
    with LiveServer(_recording_app(seen)) as live:
        with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
            sock.sendall(b"POST /slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello")
            time.sleep(0.2)
            sock.sendall(b"world")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201 ") and seen[0]["body"] == b"helloworld"
        assert live.server.quick.answered == 0


def test_a_client_that_never_reads_its_answers_stalls_no_one_else():
    seen: list = []
    with LiveServer(_recording_app(seen)) as live:
        greedy = socket.create_connection(("127.0.0.1", live.port), timeout=10)
        pipelined = 80
        greedy.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n" * pipelined)  # 20 MiB of answers, none read yet
        deadline = time.monotonic() + 5
        while len(seen) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        for n in range(5):  # others are answered while the greedy client's answers wait for it
            assert requests.get(f"{live.url}/v1/other?n={n}", timeout=5).status_code == 201
        assert len([env for env in seen if env["PATH_INFO"] == "/big"]) < pipelined
        received = 0
        expected = pipelined * INLINE_RESPONSE_BYTES
        while received < expected and (chunk := greedy.recv(1 << 20)):
            received += len(chunk)
        greedy.close()
    assert len([env for env in seen if env["PATH_INFO"] == "/big"]) == pipelined
    assert received >= pipelined * INLINE_RESPONSE_BYTES


def test_while_a_delay_fault_is_armed_requests_go_to_workers_so_one_sleeper_holds_no_one_else():
    app = create_app()
    emu = emulator_of(app)
    with LiveServer(app) as live:
        assert requests.get(f"{live.url}/_emulator/health", timeout=5).status_code == 200
        answered_before = live.server.quick.answered
        assert answered_before >= 1
        emu.faults.add(vendor="scripe", delay_ms=1500, times=1)
        done = threading.Event()

        def sleeper():
            requests.post(f"{live.url}/scripe/v1/uploads", json={}, timeout=10)
            done.set()

        thread = threading.Thread(target=sleeper)
        thread.start()
        while not emu.faults.all()[0].fired:  # the sleeper has taken the fault: it sleeps now
            time.sleep(0.01)
        assert live.server.quick.answered == answered_before  # it went to a worker, not the quick lane
        assert requests.get(f"{live.url}/_emulator/health", timeout=5).status_code == 200
        assert not done.is_set()  # answered while the delayed request still sleeps
        thread.join()
        assert not emu.faults.may_delay()  # its one use is spent: plain requests are quick again
        assert live.server.quick.answered == answered_before + 1


def test_a_kept_alive_client_stays_registered_with_the_selector_between_its_requests():
    seen: list = []
    with LiveServer(_recording_app(seen)) as live:
        selector = live.server._connections._selector
        calls: list[str] = []
        register, unregister = selector.register, selector.unregister
        selector.register = lambda *a, **k: (calls.append("register"), register(*a, **k))[1]
        selector.unregister = lambda *a, **k: (calls.append("unregister"), unregister(*a, **k))[1]
        _client_in_a_loop(live.port, 30)
        deadline = time.monotonic() + 5
        while "unregister" not in calls and time.monotonic() < deadline:  # the client has gone: noticed
            time.sleep(0.01)
        chunked = b"POST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:  # one for a worker, then back
            for raw in (b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", chunked, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"):
                sock.sendall(raw)
                answer = b""
                while b"answer to " not in answer:
                    answer += sock.recv(65536)
    assert len(seen) == 33 and live.server.quick.answered >= 31  # /b follows a chunked body's final CRLF
    assert calls[:2] == ["register", "unregister"]  # 30 requests, registered once, released once when gone


def test_a_connection_passed_between_workers_and_the_lane_is_never_lost():
    """A worker parks a connection whose next request is already buffered; the selector may see
    it ready at once. Requests that alternate between a worker (chunked) and the lane, each sent
    before the last answer is read, must all be answered."""
    seen: list = []
    chunked = b"POST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    plain = b"GET /v1/y HTTP/1.1\r\nHost: h\r\n\r\n"
    rounds = 150
    with (
        LiveServer(_recording_app(seen)) as live,
        socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock,
    ):
        selector = live.server._connections._selector
        register = selector.register

        def slow_register(*args, **kwargs):  # widens the moment after a worker registers: the selector runs
            found = register(*args, **kwargs)
            if threading.current_thread().name != "upload-emulator":
                time.sleep(0.002)
            return found

        selector.register = slow_register
        answered = 0
        for _ in range(rounds):
            sock.sendall(chunked + plain)
            answer = b""
            while answer.count(b"answer to ") < 2:
                answer += sock.recv(65536)  # a lost connection times out here
            answered += 2
    assert answered == len(seen) == 2 * rounds


def test_work_the_app_leaves_for_after_its_answer_runs_once_the_answer_is_sent():
    events: list[str] = []

    def app(environ, start_response):
        environ[AFTER_SEND].append(lambda: events.append("after"))
        start_response("200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")])
        return [b"ok"]

    with LiveServer(app) as live, socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        real_send = live.server.quick._send

        def send(conn, data, close):
            events.append("sent")
            return real_send(conn, data, close)

        live.server.quick._send = send
        for _ in range(2):
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
            answer = b""
            while not answer.endswith(b"ok"):
                answer += sock.recv(65536)
    assert events == ["sent", "after", "sent", "after"]


def test_a_call_the_lane_answered_is_in_the_journal_for_the_next_request_with_its_own_duration():
    app = create_app()
    emu = emulator_of(app)
    body = b'{"contentType": "text/plain"}'
    mint = (  # in one write: the lane takes a request that has arrived whole, and a client that
        # writes the head and the body apart (requests, http.client) may see the body lag to a worker
        b"POST /scripe/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: Bearer scripe_sk_test_acme_full_access\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with LiveServer(app) as live, requests.Session() as http:
        minted = _exchange(live.port, mint)
        listed = http.get(f"{live.url}/_emulator/requests", params={"operationId": "createUpload"}).json()
        assert live.server.quick.answered >= 2
    (entry,) = listed["data"]
    assert minted.startswith(b"HTTP/1.1 200 ")
    assert entry["requestId"] == re.search(rb"X-Request-Id: (\S+)", minted).group(1).decode()  # type: ignore[union-attr]
    assert entry["status"] == 200
    assert 0 < entry["durationMs"] < 1000
    emu.close()

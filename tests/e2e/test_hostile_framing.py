"""Bad framing over a raw socket gets a prompt 4xx, never a 500 or a hang, and leaves no state."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from support import FULL

from upload_emulator.app import emulator_of

AUTH = f"Authorization: Bearer {FULL}\r\n"


def exchange(live, raw: bytes, timeout: float = 5.0) -> tuple[float, bytes]:
    target = urlsplit(live.url)
    started = time.monotonic()
    with socket.create_connection((target.hostname, target.port), timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while b"\r\n\r\n" not in received and (chunk := sock.recv(65536)):
                received += chunk
        except OSError:
            pass
    return time.monotonic() - started, received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


@pytest.mark.parametrize("length", ["-5", "-1", "abc", "1e3", " "])
@pytest.mark.parametrize("path", ["/scripe/v1/uploads", "/s3/bucket/key?X-Amz-Signature=x", "/_emulator/clock"])
def test_a_content_length_that_is_not_a_whole_number_is_400_at_once(live, length, path):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
    raw = f"{head}Content-Length: {length}\r\n\r\n{{}}"
    took, answer = exchange(live, raw.encode())
    assert status_of(answer) == 400 and took < 2, answer[:200]


@pytest.mark.parametrize(
    "path", ["/scripe/v1/uploads", "/ctxfy/v1/upload/s3", "/adclear/v1/uploads", "/_emulator/keys"]
)
def test_a_malformed_chunked_body_is_a_client_error_in_the_vendors_shape(live, path):
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    _, answer = exchange(live, raw.encode())
    assert 400 <= status_of(answer) < 500, answer[:300]
    assert emulator_of(live.app).uploads.all() == []


def test_oversized_headers_get_431_and_a_huge_request_line_414(live):
    _, big = exchange(live, b"GET /scripe/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
    assert status_of(big) == 431
    many = b"".join(b"X-%d: y\r\n" % n for n in range(100_000))
    _, lots = exchange(live, b"GET /scripe/v1/health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(lots) == 431
    _, line = exchange(live, b"GET /" + b"a" * (1 << 17) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(line) == 414
    _, fine = exchange(live, b"GET /scripe/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(fine) == 200


def test_a_client_that_leaves_mid_body_is_journaled_as_a_client_error_not_an_emulator_bug(live):
    target = urlsplit(live.url)
    head = (
        f"POST /scripe/v1/uploads HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((target.hostname, target.port), timeout=5) as sock:
        sock.sendall(head.encode() + b'{"contentType": ')
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    emu = emulator_of(live.app)
    deadline = time.monotonic() + 5
    while not emu.journal.entries(vendor="scripe") and time.monotonic() < deadline:
        time.sleep(0.05)
    [entry] = emu.journal.entries(vendor="scripe")
    assert entry["status"] == 400 and emu.uploads.all() == []
    assert emu.take_server_errors() == []

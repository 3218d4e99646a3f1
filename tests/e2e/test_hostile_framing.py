"""Bad framing over a raw socket is refused as RFC 9112 says: at once, in the surface's own shape,
journaled, the connection closed, and nothing stored or changed.

The server here has deadlines of two minutes, so an answer that waited for one (as a head
whose framing was unclear once did) shows as a read that never ends, not as a slow figure:
no assertion below depends on how busy the machine is.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import pytest
import requests
from support import FULL, make_app

from upload_emulator.app import emulator_of
from upload_emulator.serving.server import LiveServer
from upload_emulator.serving.watchdog import Watchdog

AUTH = f"Authorization: Bearer {FULL}\r\n"
PATIENT = 30.0  # seconds a read may wait: far past any answer, far below the server's deadlines


@pytest.fixture(scope="module")
def patient_server():
    app = make_app()
    with LiveServer(app, watchdog=Watchdog(header_deadline=120, body_window=120)) as server:
        yield server
    emulator_of(app).close()


@pytest.fixture
def live(patient_server):
    emu = emulator_of(patient_server.app)
    emu.reset()
    yield patient_server
    assert emu.take_server_errors() == []


def exchange(live, raw: bytes) -> tuple[bytes, bool]:
    """Send `raw`, read everything the server sends until it closes; (bytes, whether it closed)."""
    target = urlsplit(live.url)
    with socket.create_connection((target.hostname, target.port), timeout=PATIENT) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            return received, False
    return received, True


def statuses(answer: bytes) -> list[int]:
    """Every status line's code in what came back (a smuggled request's answer would be a second one)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


def journaled(live) -> list[tuple[str, str, int]]:
    return [(e["vendor"], e["operationId"], e["status"]) for e in emulator_of(live.app).journal.entries()]


def mint_head(length: str | int, extra: str = "") -> str:
    return (
        f"POST /scripe/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Content-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}"
    )


MINT = b'{"contentType": "audio/mpeg"}'


def presigned(live) -> str:
    minted = requests.post(
        f"{live.url}/scripe/v1/uploads", json={"contentType": "text/plain"}, headers={"Authorization": f"Bearer {FULL}"}
    )
    assert minted.status_code == 200, minted.text
    return minted.json()["data"]["uploadUrl"]


def test_a_request_smuggled_in_a_body_framed_by_both_length_and_chunking_is_never_answered(live):
    smuggled = b"GET /_emulator/keys?vendor=scripe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    head = mint_head(len(body), "Transfer-Encoding: chunked\r\n")
    answer, closed = exchange(live, head.encode() + b"\r\n" + body)
    assert statuses(answer) == [400] and closed, answer[:400]
    assert b'"invalid_request"' in answer and FULL.encode() not in answer and b"sk_test" not in answer
    assert journaled(live) == [("scripe", "createUpload", 400)]
    assert emulator_of(live.app).uploads.all() == []


def test_two_content_lengths_that_disagree_on_a_presigned_put_store_nothing(live):
    url = urlsplit(presigned(live))
    head = (
        f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: text/plain\r\n"
        "Content-Length: 5\r\nContent-Length: 3\r\n\r\nhello"
    )
    answer, closed = exchange(live, head.encode())
    assert statuses(answer) == [400] and closed, answer[:400]
    assert b"<Code>InvalidRequest</Code>" in answer and b"Content-Length" in answer
    emu = emulator_of(live.app)
    (record,) = emu.uploads.all()
    assert record.state == "pending" and emu.storage.head(record.bucket, record.key) is None
    assert journaled(live)[-1] == ("s3", "PutObject", 400)


def test_two_content_lengths_on_a_mint_are_refused_at_once_and_mint_nothing(live):
    head = mint_head(29, "Content-Length: 40\r\n")
    answer, closed = exchange(live, head.encode() + b"\r\n" + MINT)
    assert statuses(answer) == [400] and closed, answer[:300]
    assert emulator_of(live.app).uploads.all() == []
    assert journaled(live) == [("scripe", "createUpload", 400)]


@pytest.mark.parametrize("size", ["10000000000000000", "8000000000000000", "FFFFFFFFFFFFFFFFF"])
def test_a_chunk_size_past_two_to_the_63_is_a_400_never_a_500(live, size):
    head = mint_head(0, "").replace("Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n")
    answer, closed = exchange(live, head.encode() + f"\r\n{size}\r\nhello\r\n0\r\n\r\n".encode())
    assert statuses(answer) == [400] and closed, answer[:300]
    assert b"2^63" in answer or b"chunk size" in answer
    assert emulator_of(live.app).uploads.all() == []
    assert journaled(live) == [("scripe", "createUpload", 400)]


@pytest.mark.parametrize("coding", [" chunked", "chunked\x0b", "chunked, chunked"], ids=["space", "vtab", "twice"])
def test_a_transfer_encoding_beside_a_content_length_is_a_400_at_once(live, coding):
    head = mint_head(len(MINT), f"Transfer-Encoding:{coding}\r\n")
    answer, closed = exchange(live, head.encode() + b"\r\n" + MINT)
    assert statuses(answer) == [400] and closed, answer[:300]
    assert emulator_of(live.app).uploads.all() == []


@pytest.mark.parametrize("value", ["a\x00b", "a\x01b", "a\x7fb"], ids=["NUL", "SOH", "DEL"])
def test_a_control_character_in_a_field_value_is_a_400_and_mints_nothing(live, value):
    head = mint_head(len(MINT), f"X-Bad: {value}\r\n")
    answer, closed = exchange(live, head.encode() + b"\r\n" + MINT)
    assert statuses(answer) == [400] and closed, answer[:300]
    assert emulator_of(live.app).uploads.all() == []


REFUSED = [
    ("negative length", mint_head("-5") + "\r\n{}", 400),
    ("length not a number", mint_head("abc") + "\r\n{}", 400),
    ("length with an exponent", mint_head("1e3") + "\r\n{}", 400),
    ("unknown coding", mint_head(0).replace("Content-Length: 0", "Transfer-Encoding: xchunked") + "\r\n", 501),
    (
        "a coding before chunked",
        mint_head(0).replace("Content-Length: 0", "Transfer-Encoding: gzip, chunked") + "\r\n",
        501,
    ),
    ("chunked not last", mint_head(0).replace("Content-Length: 0", "Transfer-Encoding: chunked, gzip") + "\r\n", 400),
    ("a header too large", mint_head(2) + "X-Big: " + "a" * (1 << 17) + "\r\n\r\n{}", 431),
    ("too many headers", mint_head(2) + "".join(f"X-{n}: y\r\n" for n in range(20_000)) + "\r\n{}", 431),
    ("request line too long", "GET /scripe/v1/" + "a" * (1 << 17) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("space before a colon", mint_head(2) + "X-Bad : y\r\n\r\n{}", 400),
    ("folded header line", mint_head(2) + "X-Bad: y\r\n z\r\n\r\n{}", 400),
    ("two Host headers", mint_head(2) + "Host: elsewhere\r\n\r\n{}", 400),
    ("no Host header", mint_head(2).replace("Host: 127.0.0.1\r\n", "") + "\r\n{}", 400),
    ("bare LF line ends", mint_head(2).replace("\r\n", "\n") + "\n{}", 400),
    ("HTTP/2.0 in a request line", "GET /scripe/v1/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
]


@pytest.mark.parametrize(("raw", "status"), [(r, s) for _, r, s in REFUSED], ids=[n for n, _, _ in REFUSED])
def test_every_framing_refusal_is_journaled_in_the_vendors_shape_and_closes_the_connection(live, raw, status):
    answer, closed = exchange(live, raw.encode())
    assert statuses(answer) == [status] and closed, answer[:300]
    assert b'"error"' in answer and b'"request_id"' in answer  # Scripe's envelope
    assert [(vendor, code) for vendor, _, code in journaled(live)] == [("scripe", status)]
    assert emulator_of(live.app).uploads.all() == []


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/s3/bucket/key?X-Amz-Signature=x", b"<Code>InvalidRequest</Code>"),
        ("/_emulator/clock", b'"type": "about:blank"'),
        ("/streamloop/v1/uploads", b'"type": "about:blank"'),
        ("/adclear/v1/uploads", b'"correlationId"'),
        ("/ctxfy/v1/upload/s3", b'"code": 400'),
    ],
)
def test_a_refusal_is_answered_in_the_shape_of_the_surface_it_was_sent_to(live, path, shape):
    raw = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"
    answer, closed = exchange(live, raw.encode())
    assert statuses(answer) == [400] and closed, answer[:300]
    assert shape in answer, answer[:400]
    assert [status for _, _, status in journaled(live)] == [400]


@pytest.mark.parametrize(
    "path", ["/scripe/v1/uploads", "/ctxfy/v1/upload/s3", "/adclear/v1/uploads", "/_emulator/keys"]
)
def test_a_malformed_chunked_body_is_a_client_error_in_the_vendors_shape(live, path):
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    answer, closed = exchange(live, raw.encode())
    assert [400 <= status < 500 for status in statuses(answer)] == [True] and closed, answer[:300]
    assert emulator_of(live.app).uploads.all() == []


def test_a_chunked_body_decodes_to_its_bytes_and_the_connection_stays_usable(live):
    body = b'{"contentType":' + b' "audio/mpeg"}'
    chunked = b"f;ext=1\r\n" + body[:15] + b"\r\n" + b"e\r\n" + body[15:] + b"\r\n0\r\nTrailer: x\r\n\r\n"
    head = mint_head(0).replace("Content-Length: 0", "Transfer-Encoding: chunked")
    follow = b"GET /scripe/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer, _ = exchange(live, head.encode() + b"\r\n" + chunked + follow)
    assert statuses(answer) == [200, 200], answer[:600]
    assert len(emulator_of(live.app).uploads.all()) == 1


def test_a_client_that_leaves_mid_body_is_journaled_as_a_client_error_not_an_emulator_bug(live):
    target = urlsplit(live.url)
    with socket.create_connection((target.hostname, target.port), timeout=PATIENT) as sock:
        sock.sendall(mint_head(1000).encode() + b'\r\n{"contentType": ')
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    emu = emulator_of(live.app)
    for _ in range(600):  # the worker notices the reset on its own time
        if emu.journal.entries(vendor="scripe"):
            break
        requests.get(f"{live.url}/_emulator/health")
    [entry] = emu.journal.entries(vendor="scripe")
    assert entry["status"] == 400 and emu.uploads.all() == []

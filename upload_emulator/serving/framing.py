"""Message framing as RFC 9112 says, whatever the server would let through.

cheroot parses a request head leniently: a second `Content-Length` replaces the first, a
`Content-Length` beside `Transfer-Encoding: chunked` is ignored (and the connection kept
open, which is how a request is smuggled inside another one's body), and a NUL in a field
value is passed on. `check_head` therefore runs the head cheroot has read through llhttp
(Node's parser, via httptools), which refuses all of that, and adds the rules llhttp leaves
to the server: exactly one `Host`, and no transfer coding but `chunked`.

A body is read by one of two small streams, both through the connection's buffered reader
and both telling the watchdog's meter about every piece as it arrives:
  - `KnownLengthBody`: `Content-Length` bytes (cheroot's own reader waits for all it was
    asked for in one call, so a slow but steady client looked stalled to the watchdog);
  - `ChunkedBody`: the chunked coding, strictly (cheroot's own reads each chunk into memory
    whole, however large its declared size, and lets a size of 2^64 through to an
    OverflowError). A size line is at most MAX_LINE bytes, a size below 2^63, and every
    chunk must end in CRLF; a breach raises `FramingError`, a ValueError, at once.
"""

from __future__ import annotations

import re
from typing import Any

import httptools

from upload_emulator.serving.contract import Rejection

MAX_LINE = 4096  # a chunk-size line (with any extensions) or a trailer line
MAX_TRAILER = 64 * 1024  # all trailer lines together
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_SIZE_LIMIT = 2**63
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class FramingError(ValueError):
    """The body's framing is broken: the client gets a 400 and the connection is closed."""


class _Headers:
    """What llhttp reports of a head: every field line, in order."""

    def __init__(self) -> None:
        self.fields: list[tuple[bytes, bytes]] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.lower(), value))


def check_head(head: bytes) -> Rejection | None:
    """Why this request head (request line, field lines, the empty line) may not be framed; None when it may."""
    seen = _Headers()
    parser = httptools.HttpRequestParser(seen)
    try:
        parser.feed_data(head)
    except httptools.HttpParserUpgrade:
        pass  # an Upgrade request is framed like any other; the application answers it
    except httptools.HttpParserError as bad:
        return _refusal(str(bad), seen.fields)
    hosts = sum(1 for name, _ in seen.fields if name == b"host")
    if hosts > 1 or (hosts == 0 and parser.get_http_version() == "1.1"):
        return Rejection(400, "An HTTP/1.1 request must carry exactly one Host header.")
    codings = _codings(seen.fields)
    if any(coding != b"chunked" for coding in codings):
        return _not_implemented(codings)
    return None


def _codings(fields: list[tuple[bytes, bytes]]) -> list[bytes]:
    values = b",".join(value for name, value in fields if name == b"transfer-encoding")
    return [part.strip(b" \t").lower() for part in values.split(b",") if part.strip(b" \t")]


def _not_implemented(codings: list[bytes]) -> Rejection:
    unknown = ", ".join(c.decode("latin-1") for c in codings if c != b"chunked")
    return Rejection(501, f"Transfer-Encoding {unknown} is not implemented; send the body chunked or with a length.")


def _refusal(reason: str, fields: list[tuple[bytes, bytes]]) -> Rejection:
    """llhttp's refusal as the client is told it. A transfer coding llhttp rejects only because
    `chunked` is not last, where every coding is a plain token, is one we do not implement (501)."""
    codings = _codings(fields)
    has_length = any(name == b"content-length" for name, _ in fields)
    tokens = all(_TOKEN.fullmatch(c) for c in codings)
    if "Transfer-Encoding" in reason and codings and not has_length and tokens and b"chunked" not in codings:
        return _not_implemented(codings)
    return Rejection(400, f"The request's framing is malformed: {reason}.")


class _Source:
    """The connection's buffered reader, read a piece at a time with the meter told of each piece."""

    def __init__(self, rfile: Any, meter: Any) -> None:
        self.rfile = rfile
        self.meter = meter

    def into(self, view: memoryview) -> int:
        """Whatever has arrived, up to len(view) bytes, waiting only until some has (0: the client is gone)."""
        with self.meter.reading():
            n = self.rfile.readinto1(view)
        self.meter.received += n
        return n

    def line(self, limit: int) -> bytes:
        with self.meter.reading():
            data = self.rfile.readline(limit + 1)
        self.meter.received += len(data)
        return data


class _Body:
    """A request body as a WSGI input stream: `read`, `readinto`, `readline`; `finished` once it all came."""

    finished = False

    def readinto(self, buffer: Any) -> int:
        raise NotImplementedError

    def at_most(self) -> int:
        """How much one read can give at most (what a read's buffer needs, whatever was asked)."""
        raise NotImplementedError

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        size = min(size, self.at_most())
        buffer = bytearray(size)
        got = 0
        with memoryview(buffer) as view:
            while got < size and (n := self.readinto(view[got:])):
                got += n
        del buffer[got:]
        return bytes(buffer)

    def readline(self, size: int | None = -1) -> bytes:
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            byte = self.read(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)

    def __iter__(self):
        while line := self.readline():
            yield line

    def close(self) -> None:
        pass


class KnownLengthBody(_Body):
    """Exactly `length` bytes; a client that stops sooner gives a short read, then b""."""

    def __init__(self, rfile: Any, length: int, meter: Any) -> None:
        self.source = _Source(rfile, meter)
        self.remaining = length
        self.finished = length == 0

    def at_most(self) -> int:
        return self.remaining

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        with memoryview(buffer) as view:
            got = 0
            want = min(len(view), self.remaining)
            while got < want:
                n = self.source.into(view[got:want])
                if not n:
                    break
                got += n
        self.remaining -= got
        self.finished = self.remaining == 0
        return got


class ChunkedBody(_Body):
    """The chunked transfer coding (RFC 9112 §7.1), decoded as it arrives."""

    def __init__(self, rfile: Any, meter: Any) -> None:
        self.source = _Source(rfile, meter)
        self.left_in_chunk = 0
        self.bytes_read = 0

    def at_most(self) -> int:
        return self.left_in_chunk or 64 * 1024  # a chunk not yet begun: a piece of it

    def readinto(self, buffer: Any) -> int:
        if self.finished:
            return 0
        if self.left_in_chunk == 0:
            self._next_chunk()
            if self.finished:
                return 0
        with memoryview(buffer) as view:
            want = min(len(view), self.left_in_chunk)
            got = 0
            while got < want:
                n = self.source.into(view[got:want])
                if not n:
                    raise ConnectionResetError("the client went away in the middle of a chunk")
                got += n
        self.left_in_chunk -= got
        self.bytes_read += got
        if self.left_in_chunk == 0:
            self._end_of_chunk()
        return got

    def _next_chunk(self) -> None:
        line = self._line()
        size, _, _extensions = line.partition(b";")
        size = size.rstrip(b" \t")
        if not _HEX.fullmatch(size):
            raise FramingError(f"bad chunk size {size[:32]!r}")
        value = int(size, 16)
        if value >= _SIZE_LIMIT:
            raise FramingError(f"chunk size {size.decode()} is past 2^63")
        if value == 0:
            self._trailer()
            self.finished = True
        self.left_in_chunk = value

    def _end_of_chunk(self) -> None:
        if self._line() != b"":
            raise FramingError("a chunk's data did not end in CRLF")

    def _trailer(self) -> None:
        total = 0
        while (line := self._line()) != b"":
            total += len(line)
            if total > MAX_TRAILER:
                raise FramingError("the trailer section is too large")

    def _line(self) -> bytes:
        raw = self.source.line(MAX_LINE)
        if not raw:
            raise ConnectionResetError("the client went away in the middle of a chunked body")
        if len(raw) > MAX_LINE or not raw.endswith(b"\r\n"):
            raise FramingError("a line of the chunked body is too long or does not end in CRLF")
        return raw[:-2]

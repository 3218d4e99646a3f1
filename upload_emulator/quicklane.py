"""The quick lane: a small request that has wholly arrived is answered by the thread that saw it.

cheroot gives every readable connection to a worker thread. With sixteen busy clients that
is sixteen threads taking turns at the GIL, and the turns cost more than a mint does
(`bench/README.md`, "Why the mint at 16 connections is slow"). A request whose head and body
already sit in the connection's read buffer cannot make anyone wait for the network, so the
selector thread parses it (httptools: llhttp, Node's parser) and runs the app itself: no queue,
no second thread.

Only the plain case takes this lane. Everything else is left unread for cheroot's worker,
which answers it exactly as before (its own 400s, this server's 431 and guards, streaming
bodies, deadlines): a body still arriving, chunked, `Expect`, HEAD, HTTP/1.0, a target with
escapes or not in origin form, a head llhttp refuses, or any request while the app says a
request may block (an injected delay, which would otherwise hold every other client too).
Responses are written without blocking; what the socket will not take at once, and any
response without a small declared length, is finished by a writer thread instead.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import logging
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable

import httptools
from cheroot.server import comma_separated_headers  # type: ignore[attr-defined]

from upload_emulator.wire import AFTER_SEND, WHOLE_BODY

log = logging.getLogger("upload_emulator.server")

METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
REFUSED_HEADERS = frozenset({b"transfer-encoding", b"expect", b"upgrade", b"te"})
INLINE_RESPONSE_BYTES = 256 * 1024  # a larger (or undeclared) response body is written by a thread
NO_BODY_STATUSES = frozenset({204, 205, 304})
_COMMA_JOINED = frozenset(name.lower() for name in comma_separated_headers)

# what `classify` finds in a connection's buffer
NOTHING, GONE, TAKEN, LEFT = "nothing", "gone", "taken", "left"


class Request:
    """A complete request read from a buffer, with what the environ needs."""

    __slots__ = ("body", "complete", "headers", "keep_alive", "method", "size", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = False
        self.size = 0
        self.keep_alive = True
        self.method = b""

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def parse(data: bytes) -> Request | None:
    """The first request in `data` when it is complete and plain enough for the quick lane.

    One empty line before it is skipped, as cheroot does (RFC 9112 2.2): its own chunked
    reader leaves the CRLF that ends a chunked body in the buffer.
    """
    skipped = 2 if data.startswith(b"\r\n") else 0
    req = _parse(data[skipped:] if skipped else data)
    if req is not None:
        req.size += skipped
    return req


def _parse(data: bytes) -> Request | None:
    end = data.find(b"\r\n\r\n")
    if end < 0 or b"\n " in data[:end] or b"\n\t" in data[:end]:  # incomplete, or obsolete line folding
        return None
    if data.startswith(b"\r\n"):  # llhttp would skip this one too; cheroot answers it
        return None
    req = Request()
    parser = httptools.HttpRequestParser(req)
    head_size = end + 4
    length: int | None = None
    host = False
    try:
        parser.feed_data(data[:head_size])
        if parser.get_http_version() != "1.1" or parser.should_upgrade():
            return None
        req.method = parser.get_method()
        if req.method not in METHODS:
            return None
        for name, value in req.headers:  # one pass: what each header says about this lane
            lower = name.lower()
            if lower == b"content-length":
                if length is not None:
                    return None
                length = int(value)
            elif lower == b"host":
                host = True
            elif lower == b"connection":
                req.keep_alive = req.keep_alive and b"close" not in (t.strip() for t in value.lower().split(b","))
            elif lower in REFUSED_HEADERS:
                return None
        if not host:
            return None  # cheroot's own 400 says why
        size = head_size + (length or 0)
        if len(data) < size:
            return None
        if size > head_size:
            parser.feed_data(data[head_size:size])
    except (httptools.HttpParserError, httptools.HttpParserUpgrade, ValueError):
        return None
    path = req.url.partition(b"?")[0]
    if not req.complete or not path.startswith(b"/") or b"%" in path or b"#" in req.url:
        return None
    req.size = size
    return req


def environ_for(req: Request, conn, server) -> dict:
    """The environ cheroot's gateway would build for the same request (see its Gateway_10)."""
    target = req.url.decode("latin-1")
    path, _, query = target.partition("?")
    env = {
        "ACTUAL_SERVER_PROTOCOL": server.protocol,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": conn.remote_addr or "",
        "REMOTE_PORT": str(conn.remote_port or ""),
        "REQUEST_METHOD": req.method.decode("latin-1"),
        "REQUEST_URI": target,
        "SCRIPT_NAME": "",
        "SERVER_NAME": server.server_name,
        "SERVER_PORT": str(server.bind_addr[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": server.software,
        "wsgi.errors": sys.stderr,
        "wsgi.input": io.BytesIO(req.body),
        WHOLE_BODY: req.body,
        "wsgi.input_terminated": False,
        "wsgi.multiprocess": False,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
    }
    for raw_name, raw_value in req.headers:
        key, joined = _environ_key(raw_name)
        value = raw_value.decode("latin-1")
        if joined and key in env:
            value = f"{env[key]}, {value}"
        env[key] = value
    if "HTTP_CONTENT_TYPE" in env:
        env["CONTENT_TYPE"] = env.pop("HTTP_CONTENT_TYPE")
    if "HTTP_CONTENT_LENGTH" in env:
        env["CONTENT_LENGTH"] = env.pop("HTTP_CONTENT_LENGTH")
    return env


_KEYS: dict[bytes, tuple[str, bool]] = {}


def _environ_key(raw_name: bytes) -> tuple[str, bool]:
    """A header's environ key, and whether repeats of it are joined with commas (as cheroot does).
    Clients send the same few names again and again, so each is worked out once (at most 1,024)."""
    found = _KEYS.get(raw_name)
    if found is None:
        name = raw_name.decode("latin-1").strip()
        found = ("HTTP_" + name.upper().replace("-", "_"), raw_name.strip().lower() in _COMMA_JOINED)
        if len(_KEYS) < 1024:
            _KEYS[raw_name] = found
    return found


class _Date:
    """The Date header, formatted once a second instead of once a response."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())  # noqa: TID251  # the wall clock, as cheroot's Date header is
        if now != self._second:
            self._value = email.utils.formatdate(now, usegmt=True)
            self._second = now
        return self._value


_date = _Date()


class Response:
    """What the app answered, and the decisions cheroot's `send_headers` would make about it."""

    def __init__(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.headers = headers
        self.declared: int | None = None
        self.close = False
        self.names: set[str] = set()
        for name, value in headers:
            lower = name.lower()
            self.names.add(lower)
            if lower == "content-length":
                self.declared = int(value)
            elif lower == "connection" and value.strip().lower() == "close":
                self.close = True
        self.code = int(status[:3])
        if self.code == 413:
            self.close = True

    @property
    def chunked(self) -> bool:
        return self.declared is None and not (self.code < 200 or self.code in NO_BODY_STATUSES)

    def head(self, server, keep_alive_wanted: bool) -> bytes:
        self.close = self.close or not keep_alive_wanted or not server.can_add_keepalive_connection
        names = self.names
        lines = [f"{server.protocol} {self.status}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in self.headers]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        if "connection" not in names and self.close:
            lines.append("Connection: close\r\n")
        if "date" not in names:
            lines.append(f"Date: {_date()}\r\n")
        if "server" not in names:
            lines.append(f"Server: {server.server_name}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")


class QuickLane:
    """Serves the plain requests found in a connection's buffer; see the module docstring."""

    def __init__(self, server, may_block: Callable[[], bool] | None = None) -> None:
        self.server = server
        self.may_block = may_block or (lambda: False)
        self.answered = 0  # requests this lane answered (tests and benchmarks read it)

    def serve(self, conn) -> bool:
        """Answer what is buffered on `conn`; False leaves the connection, unread, to a worker.

        A connection the lane keeps stays registered with the selector between its requests
        (`conn.watched`): the selector loop hands it straight back here (server.py), and it
        leaves the selector only when it is closed or handed to another thread (`_release`).
        """
        try:
            if conn.socket.gettimeout() != 0:  # back from a worker, or new: a system call, so only then
                conn.socket.setblocking(False)  # the lane never waits: not to read, not to write
        except OSError:
            self._drop(conn)
            return True
        while True:  # a client may have pipelined several requests
            found, req, more = self._classify(conn)
            if found == LEFT:
                self._blocking(conn)
                return False
            if found == GONE:
                self._drop(conn)
                return True
            if found == NOTHING:
                self.park(conn)
                return True
            if not self._answer(conn, req):  # type: ignore[arg-type]  # TAKEN comes with a request
                return True
            if not more:  # the buffer is empty: what comes next, the selector sees arrive
                self.park(conn)
                return True

    def _blocking(self, conn) -> None:
        """Back to cheroot's blocking socket with its timeout, for a worker or a writer thread."""
        self._release(conn)
        with contextlib.suppress(OSError):
            conn.socket.settimeout(self.server.timeout)

    def _release(self, conn) -> None:
        """Out of the selector, before the connection is closed or another thread takes it."""
        if getattr(conn, "watched", False):
            conn.watched = False
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.server._connections._selector.unregister(conn.socket.fileno())

    def _drop(self, conn) -> None:
        self._release(conn)
        conn.close()

    def _classify(self, conn) -> tuple[str, Request | None, bool]:
        """What the buffer holds, the request when it is one for this lane, and whether bytes
        follow it there (a pipelined request: asking the socket again would cost a system call)."""
        if self.may_block():
            return LEFT, None, False
        try:
            data = conn.rfile.peek(1)  # what is buffered, else one read of what has arrived
            if not data:
                try:
                    gone = conn.socket.recv(1, socket.MSG_PEEK) == b""
                except BlockingIOError:
                    gone = False
                return (GONE if gone else NOTHING), None, False
        except OSError:
            return GONE, None, False
        req = parse(data)
        if req is None:
            return LEFT, None, False
        io.BufferedReader.read(conn.rfile, req.size)  # already buffered: takes it without waiting
        return TAKEN, req, len(data) > req.size

    def park(self, conn) -> None:
        """Back to the selector until the connection's next request arrives (or it idles out)."""
        server = self.server
        if not server.ready:
            self._drop(conn)
            return
        conn.last_used = time.time()  # noqa: TID251  # cheroot's idle clock, not the emulator's
        if getattr(conn, "watched", False):
            return  # still registered
        # Marked before it is registered: a worker thread parks connections too, and the selector
        # may see this one ready at once; a mark set after would let it unregister a connection
        # this lane then believes registered, which nobody would ever serve again.
        conn.watched = True
        try:
            server._connections._selector.register(conn.socket.fileno(), selectors.EVENT_READ, data=conn)
        except (OSError, ValueError, KeyError):
            conn.watched = False
            conn.close()

    def _answer(self, conn, req: Request) -> bool:
        """Run the app and write its answer; True when the connection stays with this lane."""
        self.answered += 1
        started: list[Response] = []

        def start_response(status, headers, exc_info=None):
            started[:] = [Response(status, headers)]

        environ = environ_for(req, conn, self.server)
        after: list[Callable[[], object]] = []
        environ[AFTER_SEND] = after
        try:
            return self._run_app(conn, req, environ, start_response, started)
        finally:  # the answer is on its way (or the connection gone): the app's work for afterwards
            del environ[AFTER_SEND]  # the app's closures hold the environ: no cycle left for the collector
            for work in after:
                try:
                    work()
                except Exception:
                    log.exception("work the app left for after its answer failed")
            after.clear()

    def _run_app(self, conn, req: Request, environ: dict, start_response, started: list) -> bool:
        try:
            result = self.server.wsgi_app(environ, start_response)
        except OSError:  # the app dropped the connection on purpose (an injected connection cut)
            self._drop(conn)
            return False
        except Exception:
            log.exception("the app failed outside its own error handling")
            self._blocking(conn)
            self._send_all(conn, _internal_error(self.server), close=True)
            return False
        response = started[0]
        head = response.head(self.server, req.keep_alive)
        expected = 0 if response.declared is None and not response.chunked else response.declared
        if expected is None or expected > INLINE_RESPONSE_BYTES:
            self._start(self._stream, conn, head, response, result)
            return False
        try:
            body = b"".join(result)
        except Exception:
            log.exception("the app's response body failed")
            self._drop(conn)
            return False
        finally:
            _close(result)
        if len(body) != expected:
            log.error("the app declared %s bytes and produced %s", expected, len(body))
            self._drop(conn)
            return False
        return self._send(conn, head + body, response.close)

    def _send(self, conn, data: bytes, close: bool) -> bool:
        sock = conn.socket
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn)
            return False
        if sent < len(data):  # the client is not reading: finish in a thread, never stall the lane
            self._start(self._finish, conn, data[sent:], close)
            return False
        if close:
            self._drop(conn)
            return False
        return True

    def _finish(self, conn, rest: bytes, close: bool) -> None:
        self._blocking(conn)
        if self._send_all(conn, rest, close):
            self.server.put_conn(conn)  # as a worker does: its next request may be buffered already

    def _send_all(self, conn, data: bytes, close: bool) -> bool:
        try:
            conn.socket.sendall(data)
        except OSError:
            close = True
        if close:
            conn.close()
            return False
        return True

    def _stream(self, conn, head: bytes, response: Response, result: Iterable[bytes]) -> None:
        """A large or undeclared body, written as cheroot would: chunked when no length was given."""
        self._blocking(conn)
        close = response.close
        try:
            conn.socket.sendall(head)
            remaining = response.declared
            for chunk in result:
                if not chunk:
                    continue
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                conn.socket.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if response.chunked else chunk)
            if response.chunked:
                conn.socket.sendall(b"0\r\n\r\n")
            close = close or bool(remaining)
        except OSError:
            close = True
        except Exception:
            log.exception("the app's response body failed")
            close = True
        finally:
            _close(result)
        if close:
            conn.close()
        else:
            self.server.put_conn(conn)

    def _start(self, target, conn, *args) -> None:
        self._release(conn)
        threading.Thread(target=target, args=(conn, *args), name="upload-emulator-writer", daemon=True).start()


def _close(result) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _internal_error(server) -> bytes:
    body = b"The server encountered an unexpected condition which prevented it from fulfilling the request."
    return (
        f"{server.protocol} 500 Internal Server Error\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: text/plain\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + body

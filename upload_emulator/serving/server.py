"""The HTTP server: cheroot, through its public classes and their documented extension points.

cheroot hands the application the request body as a stream (waitress spools it to a file
first), runs one process with a thread pool (state is in memory), embeds in a thread (the
pytest plugin's live server) and is a production server; "How it is built" in the docs
gives the measurements behind the choice. What cheroot lacks, this module adds on the hooks
cheroot offers for it (`ConnectionClass`, `RequestHandlerClass`, `gateway`, `error_log`,
`process_conn`) and on nothing private:

- framing as RFC 9112 says (`framing.py`): a head cheroot would take leniently, a transfer
  coding it would not know, a head too large (431) or too slow (408) is answered by the
  application in the shape of the surface it was sent to, journaled, and the connection is
  closed (`_Request.reject`);
- a body stream that tells the watchdog of every piece, and a strict chunked decoder;
- a thread pool that grows while every worker is busy (`pool.py`), so clients that trickle
  their heads cannot starve anyone, and lanes (`lanes.py`) that keep threads for health,
  the control plane and API calls while uploads are slow;
- `Connection: close` from the application honoured (cheroot would read the rest of an
  unread 1.6 GB body before answering), an unread body past DRAIN_LIMIT never read after
  the answer, and a connection the application asks to cut dropped without an answer;
- an accept loop that backs off when the process is out of descriptors, and logs once.
"""

from __future__ import annotations

import errno
import logging
import sys
import threading
import time
import urllib.parse
from http import HTTPStatus
from typing import Any

from cheroot import errors as cheroot_errors
from cheroot.server import HeaderReader, HTTPConnection, HTTPRequest
from cheroot.wsgi import Gateway_10, Server

from upload_emulator.serving import contract, framing
from upload_emulator.serving.lanes import Lanes, lane_of
from upload_emulator.serving.pool import Pool
from upload_emulator.serving.watchdog import Meter, Watchdog

log = logging.getLogger("upload_emulator.server")

THREADS = 64  # the pool's floor, which the lanes share out; a browser alone keeps 6 connections open
MAX_THREADS = 1024  # the pool's ceiling: threads are added while heads arrive slowly (see _Pool)
LISTEN_BACKLOG = 128  # cheroot's 5 dropped connections and stalled for a second at 32 clients
MAX_HEADER_BYTES = 64 * 1024  # the request line and all headers together; past it, 414 or 431
IDLE_TIMEOUT = 30  # seconds a socket may be silent (also how long an idle keep-alive lasts)
MAX_BACKOFF = 1.0  # seconds the accept loop waits after running out of descriptors, at most
KEEPALIVE_CONNECTIONS = 512  # idle keep-alive connections kept; cheroot's 10 made the 11th client reconnect
DRAIN_LIMIT = 1024 * 1024  # an unread body past this is not read after the answer: the connection closes
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class _HeadRecorder:
    """The reader a request head is parsed from, keeping a copy of the head for `framing.check_head`
    (and of a request line cut short, so even a 414 or a 408 can name the path it was for)."""

    def __init__(self, rfile: Any) -> None:
        self.rfile = rfile
        self.data = bytearray()

    def readline(self, size: int | None = None) -> bytes:
        line = self.rfile.readline(size)
        self.data += line
        return line

    def read(self, size: int | None = None) -> bytes:
        data = self.rfile.read(size)
        self.data += data
        return data


class _Refused(Exception):
    """A head `framing.check_head` refuses, raised past cheroot's own checks of the same head."""

    def __init__(self, rejection: contract.Rejection) -> None:
        super().__init__(rejection.reason)
        self.rejection = rejection


class _CheckedHeaderReader(HeaderReader):
    """cheroot's header reader (its documented `header_reader` hook), which then holds the whole
    head to RFC 9112 (`framing.check_head`) before cheroot draws any conclusion from it."""

    def __call__(self, rfile, hdict=None):
        headers = super().__call__(rfile, hdict)
        recorder = getattr(rfile, "rfile", None)  # cheroot's SizeCheckWrapper, over the head's copy
        if isinstance(recorder, _HeadRecorder):
            rejection = framing.check_head(bytes(recorder.data))
            if rejection is not None:
                raise _Refused(rejection)
        return headers


class _Request(HTTPRequest):
    """cheroot's request, with strict framing, lanes, rejections answered by the application, and cuts."""

    # What a request whose line could not be parsed is answered as (its path is taken from what arrived).
    method, uri, path, qs, request_protocol = b"GET", b"/", b"/", b"", b"HTTP/1.1"
    rejection: contract.Rejection | None = None
    lane: str | None = None
    refused = False
    cut = False
    head: _HeadRecorder | None = None
    body: framing.KnownLengthBody | framing.ChunkedBody | None = None
    header_reader = _CheckedHeaderReader()
    _line_parsed = False

    def parse_request(self) -> None:
        meter: Meter = self.conn.meter
        meter.start_headers()
        try:
            super().parse_request()
        finally:
            meter.headers_done()

    def read_request_line(self) -> bool:
        sizer = self.rfile  # cheroot's SizeCheckWrapper, made by parse_request: the copy goes beneath it
        sizer.rfile = self.head = _HeadRecorder(sizer.rfile)
        self._line_parsed = super().read_request_line()
        return self._line_parsed

    def read_request_headers(self) -> bool:
        try:
            return super().read_request_headers()
        except cheroot_errors.MaxSizeExceeded:
            self.simple_response("431 Request Header Fields Too Large", "The request's headers are too large.")
        except _Refused as refused:
            self.reject(refused.rejection)
        return False

    def respond(self) -> None:
        declared = self.inheaders.get(b"Content-Length")
        path = self.path.decode("latin-1")
        self.lane = lane_of(path, int(declared) if declared else None, bool(self.chunked_read))
        lanes: Lanes = self.server.lanes
        self.refused = not lanes.enter(self.lane)
        try:
            super().respond()
        finally:
            if not self.refused:
                lanes.leave(self.lane)

    def simple_response(self, status, msg="") -> None:
        """cheroot's answer to a request it will not serve, given instead by the application
        (in the shape of the surface the request was for) when the client is at fault."""
        code = int(str(status)[:3])
        if self.conn.meter.cut == "headers":  # the watchdog cut a slow head: whatever cheroot read, it is late
            code, msg = 408, "The request's head came too slowly."
        if self.rejection is not None or self.sent_headers or not (400 <= code < 500 or code in (501, 505)):
            super().simple_response(status, msg)
            return
        self.reject(contract.Rejection(code, msg or HTTPStatus(code).phrase))

    def reject(self, rejection: contract.Rejection) -> None:
        """Answer a request whose framing is refused through the application, body unframed, then close."""
        self.rejection = rejection
        if not self._line_parsed:
            self._adopt_partial_line()
        self.inheaders = {k: v for k, v in self.inheaders.items() if k not in (b"Content-Length", b"Transfer-Encoding")}
        self.chunked_read = False
        self.close_connection = True
        try:
            self.server.gateway(self).respond()
        except Exception:  # the application failed to answer: cheroot's own words, so the client gets one
            log.exception("the application could not answer a refused request")
            if not self.sent_headers:
                phrase = HTTPStatus(rejection.status).phrase
                HTTPRequest.simple_response(self, f"{rejection.status} {phrase}", rejection.reason)

    def _adopt_partial_line(self) -> None:
        """The method and target of a request line that failed to parse, as far as they arrived."""
        line = bytes(self.head.data).split(b"\r\n", 1)[0] if self.head is not None else b""
        parts = line.split(b" ")
        if len(parts) >= 2 and parts[1].startswith(b"/"):
            target = parts[1]
            self.method = parts[0][:16].upper() or b"GET"
            self.uri = target
            path, _, query = target.partition(b"?")
            self.path, self.qs = urllib.parse.unquote_to_bytes(path), query
        self.response_protocol = "HTTP/1.1"

    def send_headers(self) -> None:
        if self.cut:  # the application asked for the connection to be dropped: nothing is sent
            self.close_connection = True
            return
        if any(k.lower() == b"connection" and v.strip().lower() == b"close" for k, v in self.outheaders):
            self.close_connection = True
        body = self.body
        if body is not None and not body.finished:
            unread = getattr(body, "remaining", None)
            if unread is None or unread > DRAIN_LIMIT:  # chunked, or too much to read after answering
                self.close_connection = True
        super().send_headers()


class _Gateway(Gateway_10):
    """The WSGI environ: the metered body, and the contract's keys (`contract.py`)."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]  # cheroot's stub says None
        req: _Request = self.req
        meter: Meter = req.conn.meter
        if req.rejection is not None:
            req.body = framing.KnownLengthBody(req.conn.rfile, 0, meter)
        elif req.chunked_read:
            req.body = framing.ChunkedBody(req.conn.rfile, meter)
        else:
            req.body = framing.KnownLengthBody(req.conn.rfile, int(req.inheaders.get(b"Content-Length", 0)), meter)
        req.rfile = req.body  # cheroot reads what is left of it after the answer (send_headers), if little
        env = super().get_environ()
        env[contract.CUT] = self._cut
        if req.rejection is not None:
            env[contract.REJECTED] = req.rejection
        elif req.refused:
            env[contract.REFUSED] = True
        return env

    def _cut(self) -> None:
        self.req.cut = True

    def write(self, chunk: bytes) -> None:
        if self.req.cut:
            return
        super().write(chunk)


class _Connection(HTTPConnection):
    """cheroot's connection, with a meter the watchdog reads while a worker serves it."""

    RequestHandlerClass = _Request

    def __init__(self, server: Any, sock: Any, *args: Any) -> None:
        super().__init__(server, sock, *args)
        self.meter = Meter(sock)

    def communicate(self) -> bool:
        watchdog: Watchdog = self.server.watchdog
        watchdog.watch(self.meter)
        try:
            return super().communicate()
        finally:
            watchdog.forget(self.meter)


class _Server(Server):
    """cheroot's WSGI server with the watchdog, the lanes, the growing pool and an accept loop that backs off."""

    ConnectionClass = _Connection
    keep_alive_conn_limit = KEEPALIVE_CONNECTIONS
    accept_failures = 0

    def __init__(self, bind_addr, app, threads: int, watchdog: Watchdog, max_threads: int = MAX_THREADS) -> None:
        super().__init__(
            bind_addr,
            app,
            numthreads=threads,
            max=max(threads, max_threads),
            server_name="upload-emulator",
            request_queue_size=LISTEN_BACKLOG,
            timeout=IDLE_TIMEOUT,
        )
        self.gateway = _Gateway
        self.max_request_header_size = MAX_HEADER_BYTES
        self.lanes = Lanes(threads)
        self._stop_lock = threading.Lock()
        self._stopped = False
        self.watchdog = watchdog
        self.pool = Pool(self.requests)
        self._streak, self._last_failure = 0, 0.0

    def prepare(self) -> None:
        super().prepare()
        self.watchdog.start()
        self.pool.start()

    def stop(self) -> None:
        """Stop once; a second caller (the one whose `serve()` returned) waits for the first."""
        with self._stop_lock:
            if self._stopped:
                return
            self.pool.stop()
            self.watchdog.stop()
            super().stop()
            self._stopped = True

    def stop_soon(self, signum: int | None = None, frame: object = None) -> None:
        """Stop on another thread, so `serve()` returns: safe in a signal handler, which runs
        between any two bytecodes of the main thread (raising there, as Python's default SIGINT
        does, can leave one of cheroot's locks held and hang the `stop()` that follows)."""
        threading.Thread(target=self.stop, name="upload-emulator-stop", daemon=True).start()

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """cheroot's log, into `logging`; out of descriptors, the accept loop waits instead of spinning.

        cheroot's loop logs a traceback and tries `accept` again at once, forever, when the
        process has no descriptor left. Here each failure in a streak waits a little longer
        (up to MAX_BACKOFF) and only the first is logged; the connections already open keep
        being served by their workers, and the ones that close give their descriptors back.
        """
        failure = sys.exc_info()[1]
        if isinstance(failure, OSError) and failure.errno in _OUT_OF_RESOURCES:
            time.sleep(self.backoff(failure))
            return
        log.log(level, "%s", msg, exc_info=traceback)

    def backoff(self, exc: Exception) -> float:
        """Count a failure; log the first of a streak; say how long to wait before trying again."""
        now = time.monotonic()
        self._streak = self._streak + 1 if now - self._last_failure < 5 else 1
        self._last_failure = now
        self.accept_failures += 1
        if self._streak == 1:
            log.warning("the accept loop failed (%s); backing off until it recovers", exc)
        return min(MAX_BACKOFF, 0.01 * 2**self._streak)


class ServerError(RuntimeError):
    """The server could not start (a busy port, a bad address)."""


def build(app, host: str, port: int, threads: int = THREADS, watchdog: Watchdog | None = None) -> _Server:
    """The server, listening (not yet serving: call `serve()`)."""
    server = _Server((host, port), app, threads, watchdog or Watchdog())
    try:
        server.prepare()
    except OSError as exc:
        if "in use" in str(exc):
            raise ServerError(f"port {port} on {host} is already in use; pick another with --port") from exc
        raise ServerError(f"cannot listen on {host}:{port}: {exc}") from exc
    return server


def bound_port(server: _Server) -> int:
    return server.bind_addr[1]


class LiveServer:
    """The app on a real socket in a background thread: for tests and the pytest plugin."""

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = THREADS,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self._server = build(app, host, port, threads, watchdog)
        self.port = bound_port(self._server)
        self._thread = threading.Thread(target=self._server.serve, name="upload-emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def server(self) -> _Server:
        return self._server

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

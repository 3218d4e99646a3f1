"""Serve the app with cheroot, the WSGI server chosen for the byte path.

cheroot hands the app the request body as a socket stream (it does not spool the body
to a file first, as waitress does), runs one process with a thread pool (state is in
memory), and is a production server. `bench/put_throughput.py` measures it against
waitress; see the README. What cheroot lacks for hostile clients is added here: a
watchdog for slow clients (`watchdog.py`), lanes that keep threads for health and the
control plane (`capacity.py`), sane header limits, and an accept loop that backs off. What
it lacks for many busy clients is added too: complete small requests are answered by the
selector thread itself instead of a worker (`quicklane.py`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable

from cheroot import errors as cheroot_errors
from cheroot.makefile import StreamWriter
from cheroot.server import HTTPConnection, HTTPRequest, KnownLengthRFile
from cheroot.wsgi import Gateway_10, Server

from upload_emulator import capacity
from upload_emulator.quicklane import QuickLane
from upload_emulator.watchdog import HEADERS, Meter, Watchdog

log = logging.getLogger("upload_emulator.server")

THREADS = 64  # CI suites run many clients at once; a browser alone keeps 6 connections open
LISTEN_BACKLOG = 128  # cheroot's 5 dropped connections and stalled for a second at 32 clients
MAX_HEADER_BYTES = 64 * 1024  # the request line and all headers together; past it, 414 or 431
IDLE_TIMEOUT = 30  # seconds a socket may be silent (also how long an idle keep-alive lasts)
MAX_BACKOFF = 1.0  # seconds the accept loop waits after an error, at most
KEEPALIVE_LINGER = 0.002  # seconds a worker waits for a keep-alive client's next request itself
KEEPALIVE_CONNECTIONS = 512  # idle keep-alive connections kept; cheroot's 10 made the 11th client reconnect every time


class _CountingSocketIO(socket.SocketIO):
    """A socket's reads, counted into its meter as the bytes arrive (not when a read returns)."""

    def __init__(self, sock: socket.socket, meter: Meter) -> None:
        super().__init__(sock, "rb")
        self.meter = meter

    def readinto(self, b) -> int | None:
        n = super().readinto(b)
        if n:
            self.meter.received += n
        return n


class _MeteredReader(io.BufferedReader):
    """The socket reader, telling the meter when the application waits for bytes.

    cheroot's own reader is built on `_pyio`, Python's pure-Python io module, so every header
    line and body chunk went through Python-level buffering; this one is the C BufferedReader
    over the same counting socket, with the two things cheroot asks of its reader besides
    reading: `bytes_read` and `has_data`.
    """

    def __init__(self, sock: socket.socket, meter: Meter, bufsize: int) -> None:
        super().__init__(_CountingSocketIO(sock, meter), bufsize)
        self.sock = sock
        self.bytes_read = 0
        self.meter = meter

    def read(self, size: int | None = -1) -> bytes:
        with self.meter.reading():
            data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        with self.meter.reading():
            n = super().readinto(buffer)
        self.bytes_read += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        if self.meter.phase == HEADERS:  # the watchdog times header lines by the phase alone
            return super().readline(size)
        with self.meter.reading():
            return super().readline(size)

    def has_data(self) -> bool:
        """Whether a next request's bytes are here already: buffered, or readable without waiting."""
        timeout = self.sock.gettimeout()
        try:
            self.sock.setblocking(False)
            return bool(self.peek(1))
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(timeout)


class _KnownLengthRFile(KnownLengthRFile):
    """cheroot's body of a known length, which also reads into a buffer the caller holds
    (the spool's reused buffers: `spool.py`), through the metered reader below."""

    def readinto(self, buffer) -> int:
        if self.remaining == 0:
            return 0
        with memoryview(buffer) as view:
            n = self.rfile.readinto(view[: self.remaining] if len(view) > self.remaining else view)
        self.remaining -= n
        return n


class _Request(HTTPRequest):
    """cheroot's request with header limits, a lane, and honour for `Connection: close`.

    Without the last, cheroot reads the rest of an unread request body before it sends the
    response, so refusing a 1.6 GB PUT up front would still wait for all 1.6 GB.
    """

    lane: str | None = None
    refused = False

    def parse_request(self) -> None:
        self.conn.meter.start_headers()
        try:
            super().parse_request()
        finally:
            self.conn.meter.headers_done()

    def read_request_headers(self) -> bool:
        """Headers within MAX_HEADER_BYTES (else 431) and a Content-Length that is a number >= 0 (else 400)."""
        try:
            ok = super().read_request_headers()
        except cheroot_errors.MaxSizeExceeded:
            self.simple_response("431 Request Header Fields Too Large", "The request's headers are too large.")
            return False
        declared = self.inheaders.get(b"Content-Length")
        if ok and declared is not None and not declared.strip().isdigit():
            self.simple_response("400 Bad Request", "Content-Length must be a whole number of bytes.")
            return False
        return ok

    def respond(self) -> None:
        declared = self.inheaders.get(b"Content-Length")
        path = self.path.decode("latin-1") if isinstance(self.path, bytes) else str(self.path)
        self.lane = capacity.lane_of(path, int(declared) if declared else None, bool(self.chunked_read))
        lanes: capacity.Lanes = self.server.lanes
        self.refused = not lanes.enter(self.lane)
        try:
            super().respond()
        finally:
            if not self.refused:
                lanes.leave(self.lane)

    def send_headers(self) -> None:
        if any(k.lower() == b"connection" and v.strip().lower() == b"close" for k, v in self.outheaders):
            self.close_connection = True
        super().send_headers()


class _Gateway(Gateway_10):
    """WSGI environ plus whether the request found room in its lane, and a body that reads into buffers."""

    def get_environ(self):
        env = super().get_environ()
        if self.req.refused:
            env[capacity.REFUSED] = True
        if type(self.req.rfile) is KnownLengthRFile:  # made in cheroot's respond(), just before this
            self.req.rfile = env["wsgi.input"] = _KnownLengthRFile(self.req.rfile.rfile, self.req.rfile.remaining)
        return env


class _Connection(HTTPConnection):
    """cheroot's connection, metered for the watchdog, and kept by its worker between requests.

    cheroot hands a kept-alive connection back to its selector thread after every request, and
    the selector hands the next request to a worker through a queue: three threads and two
    GIL handoffs per request, which under load cost more than a mint itself. A client that
    sends its next request within `linger` seconds (any client in a loop) is served by the
    same worker instead; an idle connection still goes back to the selector, so idle clients
    hold no thread.
    """

    RequestHandlerClass = _Request
    watched = False  # registered with the selector while the quick lane keeps it (quicklane.py)

    def __init__(self, server, sock, makefile=None) -> None:
        self.meter = Meter(sock)
        super().__init__(server, sock, makefile=self._files)

    def _files(self, sock, mode, bufsize):
        return _MeteredReader(sock, self.meter, bufsize) if "r" in mode else StreamWriter(sock, mode, bufsize)

    def communicate(self):
        watchdog: Watchdog = self.server.watchdog
        watchdog.watch(self.meter)
        try:
            while True:
                keep = super().communicate()
                if not (keep and self._next_request_waiting(self.server.linger)):
                    return keep
        finally:
            watchdog.forget(self.meter)

    def _next_request_waiting(self, linger: float) -> bool:
        if linger <= 0 or not self.server.ready:
            return False
        if self.rfile.has_data():
            return True
        try:
            readable, _, _ = select.select([self.socket], [], [], linger)
        except (OSError, ValueError):  # closed under us: cheroot's own path will notice
            return False
        return bool(readable)


class _Server(Server):
    """cheroot's server with the quick lane in front of its workers, and an accept that backs off.

    Out of file descriptors, `accept` fails at once, every time; cheroot's loop logs a
    traceback and retries immediately, forever. Here each failure stops listening a little
    longer (up to MAX_BACKOFF) and is logged once per streak, while the connections already
    open are still served, so the server recovers when descriptors come back and stays quiet
    until then.
    """

    accept_failures = 0
    linger = KEEPALIVE_LINGER  # see _Connection; a test may change it on one server
    keep_alive_conn_limit = KEEPALIVE_CONNECTIONS

    def __init__(self, bind_addr, app, threads: int, watchdog: Watchdog, quick: bool = True, may_block=None) -> None:
        super().__init__(bind_addr, app, numthreads=threads, server_name="upload-emulator")
        self.lanes = capacity.Lanes(threads)
        self.watchdog = watchdog
        self.quick = QuickLane(self, may_block) if quick else None
        if quick:  # a worker hands a kept-alive connection straight back: its next request is quick
            self.linger = 0

    def process_conn(self, conn) -> None:
        """A complete plain request is answered here and now (`quicklane.py`); the rest go to a worker."""
        if self.quick is not None and self.quick.serve(conn):
            return
        super().process_conn(conn)

    def prepare(self) -> None:
        super().prepare()
        manager = self._connections  # type: ignore[attr-defined]  # cheroot sets it in prepare()
        run, accept = manager.run, manager._from_server_socket
        manager.run = lambda interval: self._run_connections(run, interval)
        manager._from_server_socket = lambda listener: self._accept(accept, listener)
        if self.quick is not None:
            manager._run = lambda interval: self._select_loop(manager, interval)
        self.watchdog.start()

    def stop(self) -> None:
        self.watchdog.stop()
        super().stop()

    def _backoff(self, exc: Exception) -> float:
        """Count a failure; log the first of a streak; say how long to wait before trying again."""
        now = time.monotonic()
        self._streak = self._streak + 1 if now - self._last_failure < 5 else 1
        self._last_failure = now
        self.accept_failures += 1
        if self._streak == 1:
            log.warning("the accept loop failed (%s); backing off until it recovers", exc)
        return min(MAX_BACKOFF, 0.01 * 2**self._streak)

    _streak, _last_failure = 0, 0.0

    def _accept(self, accept, listener):
        """cheroot's accept, which stops listening for a while when it fails instead of raising.

        Raising would end the selector's pass before the connections after the listener in it
        were served: the idle ones closing (freeing the very descriptors that ran out) would
        never be noticed, and the server would never recover.
        """
        try:
            return accept(listener)
        except OSError as exc:
            delay = self._backoff(exc)
        selector = self._connections._selector
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(listener.fileno())
        resume = threading.Timer(delay, self._listen_again, args=(listener,))
        resume.daemon = True
        resume.start()
        return None

    def _listen_again(self, listener) -> None:
        if self.ready:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._connections._selector.register(listener.fileno(), selectors.EVENT_READ, data=self)  # type: ignore[attr-defined]

    def _select_loop(self, manager, interval: float) -> None:
        """cheroot's selector loop (its ConnectionManager._run), but a connection the quick lane
        keeps stays registered between requests and goes straight back to it: no unregister
        and register again, two system calls per request."""
        selector = manager._selector
        last_expiry = time.time()  # noqa: TID251  # cheroot's idle clock, not the emulator's
        while not manager._stop_requested:
            try:
                ready = selector.select(timeout=interval)
            except OSError:
                manager._remove_invalid_sockets()
                continue
            for fd, conn in ready:
                if conn is self:
                    new = manager._from_server_socket(self.socket)
                    if new is not None:
                        self.process_conn(new)
                elif conn.watched:
                    if not self.quick.serve(conn):  # type: ignore[union-attr]  # set when this loop runs
                        Server.process_conn(self, conn)  # the lane left it to a worker
                else:
                    selector.unregister(fd)
                    self.process_conn(conn)
            now = time.time()  # noqa: TID251
            if now - last_expiry > interval:
                manager._expire(threshold=now - self.timeout)
                last_expiry = now

    def _run_connections(self, run, interval) -> None:
        while True:
            try:
                run(interval)
                return
            except Exception as exc:
                if not self.ready:
                    return
                time.sleep(self._backoff(exc))


class ServerError(RuntimeError):
    """The server could not start (a busy port, a bad address)."""


def build(
    app,
    host: str,
    port: int,
    threads: int = THREADS,
    watchdog: Watchdog | None = None,
    quick: bool = True,
    may_block: Callable[[], bool] | None = None,
) -> _Server:
    """The server, listening. `may_block` (else the app's own `may_block` attribute, if any) says
    when a request may sleep, so the quick lane leaves every request to the workers meanwhile."""
    may_block = may_block or getattr(app, "may_block", None)
    server = _Server((host, port), app, threads, watchdog or Watchdog(), quick, may_block)
    server.ConnectionClass = _Connection
    server.gateway = _Gateway
    server.timeout = IDLE_TIMEOUT
    server.request_queue_size = LISTEN_BACKLOG
    server.max_request_header_size = MAX_HEADER_BYTES
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
        quick: bool = True,
    ) -> None:
        self.app = app
        self.host = host
        self._server = build(app, host, port, threads, watchdog, quick)
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

"""Serve the app with cheroot, the WSGI server chosen for the byte path.

cheroot hands the app the request body as a socket stream (it does not spool the body
to a file first, as waitress does), runs one process with a thread pool (state is in
memory), and is a production server. `bench/put_throughput.py` measures it against
waitress; see the README.
"""

from __future__ import annotations

import threading

from cheroot import errors as cheroot_errors
from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.wsgi import Server

THREADS = 32  # CI suites run many clients at once; a browser alone keeps 6 connections open
LISTEN_BACKLOG = 128  # cheroot's 5 dropped connections and stalled for a second at 32 clients
MAX_HEADER_BYTES = 64 * 1024  # the request line and all headers together; past it, 414 or 431


class _Request(HTTPRequest):
    """cheroot's request, honouring an application's `Connection: close`.

    Without this, cheroot reads the rest of an unread request body before it sends the
    response, so refusing a 1.6 GB PUT up front would still wait for all 1.6 GB.
    """

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

    def send_headers(self) -> None:
        if any(k.lower() == b"connection" and v.strip().lower() == b"close" for k, v in self.outheaders):
            self.close_connection = True
        super().send_headers()


class _Connection(HTTPConnection):
    RequestHandlerClass = _Request


class ServerError(RuntimeError):
    """The server could not start (a busy port, a bad address)."""


def build(app, host: str, port: int, threads: int = THREADS) -> Server:
    server = Server((host, port), app, numthreads=threads, server_name="upload-emulator")
    server.ConnectionClass = _Connection
    server.timeout = 30  # seconds a connection may sit idle mid-request
    server.request_queue_size = LISTEN_BACKLOG
    server.max_request_header_size = MAX_HEADER_BYTES
    try:
        server.prepare()
    except OSError as exc:
        if "in use" in str(exc):
            raise ServerError(f"port {port} on {host} is already in use; pick another with --port") from exc
        raise ServerError(f"cannot listen on {host}:{port}: {exc}") from exc
    return server


def bound_port(server: Server) -> int:
    return server.bind_addr[1]


class LiveServer:
    """The app on a real socket in a background thread: for tests and the pytest plugin."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = THREADS) -> None:
        self.app = app
        self.host = host
        self._server = build(app, host, port, threads)
        self.port = bound_port(self._server)
        self._thread = threading.Thread(target=self._server.serve, name="upload-emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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

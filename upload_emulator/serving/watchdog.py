"""Cut connections that feed the server too slowly, so a slow client cannot hold a thread.

A socket timeout is per `recv`: one byte every few seconds never trips it, and a thread
stays held for as long as the client likes. The watchdog is one thread that looks at every
connection being served a few times a second and cuts it (shuts its read side, so the
blocked read returns) when
  - its request head (request line and headers) has not all arrived HEADER_DEADLINE
    seconds after its worker began reading it; the worker then answers 408, or
  - while the application waits for body bytes, fewer than MIN_BODY_BYTES arrive in
    BODY_WINDOW seconds; time the application spends working is not counted. The
    application then sees the body cut short and answers as for a client that went away:
    its surface's 400, journaled, nothing stored.
The watchdog never writes to a socket: every answer comes from the connection's own worker.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from contextlib import contextmanager

HEADER_DEADLINE = 10.0
BODY_WINDOW = 10.0
MIN_BODY_BYTES = 1024
TICK = 0.25

IDLE, HEADERS, BODY = "idle", "headers", "body"


class Meter:
    """One connection's progress, written by its worker thread and read by the watchdog."""

    __slots__ = ("cut", "mark_at", "mark_bytes", "paused_at", "phase", "received", "since", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = 0  # body bytes off the socket, counted as each piece arrives
        self.phase = IDLE
        self.since = 0.0
        self.mark_bytes = 0
        self.mark_at = 0.0
        self.paused_at: float | None = None
        self.cut: str | None = None  # why the watchdog cut it, once it has

    def start_headers(self) -> None:
        self.phase, self.since = HEADERS, time.monotonic()

    def headers_done(self) -> None:
        now = time.monotonic()
        self.phase, self.mark_bytes, self.mark_at, self.paused_at = IDLE, self.received, now, now

    def start_read(self) -> None:
        if self.phase == HEADERS:
            return
        now = time.monotonic()
        if self.paused_at is not None:  # the application was working, not waiting: not the client's time
            self.mark_at += now - self.paused_at
            self.paused_at = None
        self.phase = BODY

    def end_read(self) -> None:
        if self.phase == BODY:
            self.phase, self.paused_at = IDLE, time.monotonic()

    @contextmanager
    def reading(self):
        """The application waits for the client's bytes for as long as the block runs."""
        self.start_read()
        try:
            yield
        finally:
            self.end_read()


class Watchdog:
    def __init__(
        self, header_deadline: float = HEADER_DEADLINE, body_window: float = BODY_WINDOW, tick: float = TICK
    ) -> None:
        self.header_deadline = header_deadline
        self.body_window = body_window
        self.tick = tick
        self.cuts = 0
        self._meters: set[Meter] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-emulator-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def watch(self, meter: Meter) -> None:
        with self._lock:
            self._meters.add(meter)

    def forget(self, meter: Meter) -> None:
        with self._lock:
            self._meters.discard(meter)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        with self._lock:
            meters = list(self._meters)
        for meter in meters:
            if meter.cut:
                continue
            if meter.phase == HEADERS and now - meter.since > self.header_deadline:
                self._cut(meter, "headers")
            elif meter.phase == BODY:
                if meter.received - meter.mark_bytes >= MIN_BODY_BYTES:
                    meter.mark_bytes, meter.mark_at = meter.received, now
                elif now - meter.mark_at > self.body_window:
                    self._cut(meter, "body")

    def _cut(self, meter: Meter, reason: str) -> None:
        meter.cut = reason
        self.cuts += 1
        with contextlib.suppress(OSError):  # already gone
            meter.sock.shutdown(socket.SHUT_RD)  # the blocked read returns: the worker moves on

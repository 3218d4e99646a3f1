"""A worker pool that grows while connections wait for a worker, and shrinks when quiet."""

from __future__ import annotations

import threading
import time
from typing import Any


class Pool:
    """Grows cheroot's thread pool while connections wait for a worker, and shrinks it when quiet.

    A worker reads its request's head itself, so a client that trickles its head holds a
    thread until the watchdog's head deadline; with a fixed pool, enough of them starve
    everyone else. Every TICK seconds, when connections are queued and no worker is idle,
    the pool grows by the queue's length plus SPARE (up to the server's maximum); once no
    thread was wanted for QUIET seconds, the threads it added are retired.
    """

    TICK = 0.05
    SPARE = 8
    QUIET = 30.0

    def __init__(self, threads: Any) -> None:
        self.threads = threads  # cheroot's ThreadPool
        self.added = 0
        self.grown = 0  # how many times it grew, for tests and the metrics
        self._last_wanted = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-emulator-pool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.TICK):
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        waiting = self.threads.qsize
        if waiting and self.threads.idle == 0:
            self.threads.grow(waiting + self.SPARE)
            self.added += waiting + self.SPARE
            self.grown += 1
            self._last_wanted = now
        elif waiting:
            self._last_wanted = now
        elif self.added and now - self._last_wanted > self.QUIET:
            self.threads.shrink(self.added)  # never below the floor: cheroot keeps its minimum
            self.added = 0

"""Frees what a reset let go of, off the request path.

A reset with ten thousand uploads stored lets go of ten thousand records and their bytes
(spools and temp files). Freeing them takes tens of milliseconds; handing them to this
thread instead makes `POST /_emulator/reset` cost the same with a full store as with an
empty one, so a per-test reset costs nothing. The emulator's state is new at once; only the
memory and the disk of the old state are given back a moment later.

The thread lives only while there is something to free, and it is not a daemon: a process
that exits right after a reset waits for it, so no temp file is left behind.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

SETTLE_S = 0.05  # let the reset that queued the work finish (and answer) before freeing starts
BATCH = 256  # items freed between two chances for request threads to take the GIL


class Reaper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: deque[tuple[Callable[[], None] | None, tuple[Any, ...]]] = deque()
        self._thread: threading.Thread | None = None

    def later(self, work: Callable[[], None] | None = None, *garbage: Any) -> None:
        """Run `work` and drop the last references to `garbage` on the reaper's thread."""
        with self._lock:
            self._work.append((work, garbage))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="upload-emulator-reaper")
                self._thread.start()

    def close(self) -> None:
        """Wait until everything queued is freed."""
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return
            thread.join(timeout=30)
            if thread.is_alive():
                return

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            time.sleep(SETTLE_S)
            with self._lock:
                if not self._work:
                    self._thread = None
                    return
                work, garbage = self._work.popleft()
            for container in garbage:
                empty(container)
            del garbage
            if work is not None:
                work()
            del work


def empty(container: Any) -> None:
    """Take a dict or set apart a batch at a time, yielding the GIL in between: freeing ten
    thousand records in one go would hold it for milliseconds."""
    pop = getattr(container, "popitem", None) or getattr(container, "pop", None)
    if pop is None:
        return
    while container:
        for _ in range(min(BATCH, len(container))):
            pop()
        time.sleep(0)

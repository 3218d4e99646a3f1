"""Frees what a reset let go of, off the request path.

A reset with ten thousand uploads stored lets go of ten thousand records and their bytes
(spools and temp files). Freeing them takes tens of milliseconds; handing them to this
thread instead makes `POST /_emulator/reset` cost the same with a full store as with an
empty one, so a per-test reset costs nothing. The emulator's state is new at once; only the
memory of the old state is given back a moment later.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_STOP = object()
SETTLE_S = 0.05  # let the reset that queued the work finish (and answer) before freeing starts
BATCH = 256  # items freed between two chances for request threads to take the GIL


class Reaper:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def later(self, work: Callable[[], None] | None = None, *garbage: Any) -> None:
        """Run `work` and drop the last references to `garbage` on the reaper's thread."""
        self._queue.put((work, garbage))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="upload-emulator-reaper", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            time.sleep(SETTLE_S)
            work, garbage = item
            del item
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

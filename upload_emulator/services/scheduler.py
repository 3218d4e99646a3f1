"""Effects due at a moment on the emulator's clock, such as a job's object removed when it is DONE.

Vendors compute states from the clock when they are read; an effect that must also change
shared state (an object deleted, an upload made redeemable again) is scheduled here. Due
effects run before any request is handled, so whatever a client or a test observes next
has already happened, however far the clock was moved.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("upload_emulator")


class Scheduler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def at(self, when: datetime, effect: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._order), effect))

    def run_due(self, now: datetime) -> int:
        """Run every effect due by `now`, oldest first; returns how many ran."""
        try:
            if self._heap[0][0] > now:  # the common case, without the lock
                return 0
        except IndexError:  # nothing scheduled (or another thread just took the last one)
            return 0
        due = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
        for effect in due:
            try:
                effect()
            except Exception:  # an effect's bug must not fail the unrelated request that ran it
                log.exception("a scheduled effect failed")
        return len(due)

    def reset(self) -> None:
        with self._lock:
            self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)

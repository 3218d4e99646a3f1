"""The emulator's only source of "now".

Presigned URL dates, expiry checks, idempotency windows and job progress all read this
clock, so a test can move time forward (`advance`) instead of sleeping. The clock follows
real time plus an offset; it can also be frozen at an instant.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time shifted by an offset, or a frozen instant; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_s = 0.0
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            offset = self._offset_s
        return datetime.fromtimestamp(time.time() + offset, tz=UTC)

    def advance(self, seconds: float) -> datetime:
        """Move time forward (never backward: expired things must stay expired)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
            else:
                self._offset_s += seconds
        return self.now()

    def freeze(self) -> datetime:
        now = self.now()
        with self._lock:
            self._frozen_at = now
        return now

    def unfreeze(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                self._offset_s = self._frozen_at.timestamp() - time.time()
                self._frozen_at = None
        return self.now()

    @property
    def is_frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        with self._lock:
            self._offset_s = 0.0
            self._frozen_at = None


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the vendors' docs show it (datetime's own
    isoformat in UTC ends in +00:00, and cuts to milliseconds as strftime did: in C, and faster)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

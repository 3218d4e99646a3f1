"""Per-caller request budgets on the emulator's clock, with the headers vendors send.

A fixed window per caller: the first request opens a window of `window_s` seconds in
which `limit` requests are allowed; past it, 429 with Retry-After until the window ends.
The window reads the emulator clock, so a test reaches the reset by advancing it.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import NamedTuple

from upload_emulator.core.profiles import RateLimitProfile


class Verdict(NamedTuple):  # made on every counted request: a tuple is made faster than a frozen dataclass
    allowed: bool
    remaining: int
    reset_s: int


MAX_WINDOWS = 10_000


class RateLimiter:
    """Windows per caller; past MAX_WINDOWS callers, windows that have ended are dropped (bounded memory)."""

    def __init__(self, max_windows: int = MAX_WINDOWS) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple, tuple[datetime, int]] = {}
        self._max_windows = max_windows

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def charge(self, bucket: tuple, limit: int, window_s: int, now: datetime) -> Verdict:
        """Count one request against `bucket`; refused requests count too (as on real APIs)."""
        with self._lock:
            started, used = self._windows.get(bucket, (now, 0))
            if now >= started + timedelta(seconds=window_s):
                started, used = now, 0
            used += 1
            self._windows[bucket] = (started, used)
            if len(self._windows) > self._max_windows:
                self._prune(now, window_s)
        ends = started + timedelta(seconds=window_s)
        reset_s = max(1, math.ceil((ends - now).total_seconds()))
        return Verdict(used <= limit, max(0, limit - used), reset_s)

    def _prune(self, now: datetime, window_s: int) -> None:
        ended = [b for b, (started, _) in self._windows.items() if now >= started + timedelta(seconds=window_s)]
        for bucket in ended:
            del self._windows[bucket]

    def __len__(self) -> int:
        return len(self._windows)


def headers_for(rules: RateLimitProfile, limit: int, verdict: Verdict) -> dict[str, str]:
    if rules.headers == "none":  # the vendor documents only Retry-After on a 429
        return {}
    if rules.headers == "x":
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(verdict.reset_s),
        }
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_s),
        "RateLimit": f"limit={limit}, remaining={verdict.remaining}, reset={verdict.reset_s}",
        "RateLimit-Policy": f"{limit};w={rules.window_s}",
    }

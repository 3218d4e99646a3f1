"""Per-caller request budgets on the emulator's clock, with the headers vendors send.

A fixed window per caller: the first request opens a window of `window_s` seconds in
which `limit` requests are allowed; past it, 429 with Retry-After until the window ends.
The window reads the emulator clock, so a test reaches the reset by advancing it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RateLimitProfile:
    limit: int
    window_s: int
    # "ietf": RateLimit-* on every response (Streamloop). "x": X-RateLimit-* on every response.
    headers: str = "ietf"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    reset_s: int


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple, tuple[datetime, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def charge(self, bucket: tuple, rules: RateLimitProfile, now: datetime) -> Verdict:
        """Count one request against `bucket`; refused requests count too (as on real APIs)."""
        with self._lock:
            started, used = self._windows.get(bucket, (now, 0))
            if now >= started + timedelta(seconds=rules.window_s):
                started, used = now, 0
            used += 1
            self._windows[bucket] = (started, used)
        ends = started + timedelta(seconds=rules.window_s)
        reset_s = max(1, math.ceil((ends - now).total_seconds()))
        return Verdict(used <= rules.limit, max(0, rules.limit - used), reset_s)


def headers_for(rules: RateLimitProfile, verdict: Verdict) -> dict[str, str]:
    if rules.headers == "x":
        return {
            "X-RateLimit-Limit": str(rules.limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(verdict.reset_s),
        }
    return {
        "RateLimit-Limit": str(rules.limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_s),
        "RateLimit": f"limit={rules.limit}, remaining={verdict.remaining}, reset={verdict.reset_s}",
        "RateLimit-Policy": f"{rules.limit};w={rules.window_s}",
    }

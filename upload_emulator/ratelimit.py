"""Per-caller request budgets on the emulator's clock, with the headers vendors send.

A fixed window per caller: the first request opens a window of `window_s` seconds in
which `limit` requests are allowed; past it, 429 with Retry-After until the window ends.
The window reads the emulator clock, so a test reaches the reset by advancing it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple


@dataclass(frozen=True)
class RateLimitProfile:
    """A vendor's budgets: one per caller, or per caller and operation where `operations` says so.

    `plans` gives the limit by the caller's plan (Ctxfy: FREE 10, PRO 100); `operations`
    gives an operation a budget of its own, or none at all with null (Adclear: initiation
    30/min, chunk PUTs unlimited).
    """

    limit: int | None
    window_s: int = 60
    # "ietf": RateLimit-* on every response (Streamloop). "x": X-RateLimit-* (Ctxfy). "none".
    headers: str = "ietf"
    plans: dict[str, int] = field(default_factory=dict)
    operations: dict[str, int | None] = field(default_factory=dict)
    # Who shares a budget: the credential sent ("credential"), or every key of a workspace ("workspace").
    per: str = "credential"

    def budget(self, operation_id: str, plan: str | None) -> tuple[int | None, str]:
        """(limit, bucket name) for one request; a None limit means it is not counted."""
        if operation_id in self.operations:
            return self.operations[operation_id], operation_id
        if plan is not None and plan in self.plans:
            return self.plans[plan], "*"
        return self.limit, "*"


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

"""A bounded record of every request the emulator answered, newest last.

Tests read it through `/_emulator/requests` to see what their client actually sent,
including requests the emulator rejected. Keys appear only redacted.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from upload_emulator.core.clock import isoformat

FIELDS = (
    "at",
    "requestId",
    "vendor",
    "operationId",
    "method",
    "path",
    "status",
    "errorCode",
    "durationMs",
    "keyId",
    "key",
    "workspace",
    "requestBodyBytes",
)
_DETAILS = "_details"  # an entry's fields still to work out: a filter never reads them


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        # Requests by (vendor, operationId, status) since the last reset, kept past the ring's size
        # (the metrics endpoint reports them).
        self.counts: Counter[tuple[str, str, int]] = Counter()
        self.added = 0  # entries ever added, resets included: tells a quiet moment from a busy one

    def add(self, entry: dict[str, Any], details: Callable[[], dict[str, Any]] | None = None) -> None:
        """Add an entry as it is (`record` fills in the standard fields); `details` as in `record`."""
        if details is not None:
            entry[_DETAILS] = details
        key = (str(entry.get("vendor")), str(entry.get("operationId") or "-"), int(entry.get("status") or 0))
        with self._lock:
            self._entries.append(entry)
            self.counts[key] += 1
            self.added += 1

    def record(self, details: Callable[[], dict[str, Any]] | None = None, **values: Any) -> None:
        """Add an entry with every standard field (missing ones as None) plus any extras; `details`
        gives more fields, worked out the first time the entry is read, when an `at` given as a
        datetime is written out too."""
        entry = {name: values.pop(name, None) for name in FIELDS}
        entry.update(values)
        self.add(entry, details)

    def entries(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._entries if all(v is None or e.get(k) == v for k, v in filters.items())]
            found = found[-limit:] if limit else found
            for entry in found:
                if _DETAILS in entry:
                    entry.update(entry.pop(_DETAILS)())
                if isinstance(entry["at"], datetime):
                    entry["at"] = isoformat(entry["at"])
        return found

    def clear(self) -> None:
        """Forget the entries; the counts stay (see `reset`)."""
        with self._lock:
            self._entries.clear()

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self.counts.clear()

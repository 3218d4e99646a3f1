"""Replay of retried writes keyed by (vendor, workspace, route, Idempotency-Key).

The first request with a key reserves it; a concurrent duplicate waits for the first to
finish and then replays its stored reply, so two racing retries create one resource. A
different body under the same key is a conflict. Entries live for the vendor's window.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_ENTRIES = 100_000
IN_FLIGHT_WAIT_S = 30.0


@dataclass
class StoredReply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


@dataclass
class _Entry:
    body_hash: str
    created_at: datetime
    reply: StoredReply | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Conflict(Exception):
    """The key was used with a different body, or its first request is still running."""


def body_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON body: keys sorted, values as sent."""
    # ASCII escapes keep it deterministic and encodable even for lone surrogates ("\ud800").
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, _Entry] = {}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def begin(self, scope: tuple, digest: str, now: datetime, window_s: float) -> StoredReply | _Entry:
        """A stored reply to replay, or a reservation (`_Entry`) the caller must `finish`."""
        while True:
            with self._lock:
                entry = self._entries.get(scope)
                if entry is not None and (now - entry.created_at).total_seconds() >= window_s:
                    entry = None
                if entry is None:
                    self._prune(now, window_s)
                    entry = _Entry(digest, now)
                    self._entries[scope] = entry
                    return entry
                if entry.body_hash != digest:
                    raise Conflict("a different request body was sent with this key")
                if entry.reply is not None:
                    return entry.reply
                waiting_on = entry.done
            if not waiting_on.wait(IN_FLIGHT_WAIT_S):
                raise Conflict("the first request with this key is still in progress")

    def finish(self, scope: tuple, entry: _Entry, reply: StoredReply | None) -> None:
        """Store the reply for replay, or (None) drop the reservation so a retry runs again."""
        with self._lock:
            if reply is None:
                if self._entries.get(scope) is entry:
                    del self._entries[scope]
            else:
                entry.reply = reply
        entry.done.set()

    def _prune(self, now: datetime, window_s: float) -> None:
        if len(self._entries) < MAX_ENTRIES:
            return
        stale = [s for s, e in self._entries.items() if (now - e.created_at).total_seconds() >= window_s]
        for scope in stale or list(self._entries)[: MAX_ENTRIES // 10]:
            del self._entries[scope]

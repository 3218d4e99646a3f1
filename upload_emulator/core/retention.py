"""How much a long-running emulator remembers: each store keeps only its newest entries.

A CI server may run for days without a reset, so uploads, vendor resources and created keys
are capped (`--retain`, resources four times that, as a flow makes several). Past the cap the
oldest entries are forgotten, the first time with a warning; entries the fixtures made are
never forgotten. A forgotten upload's bytes are deleted with it (see `UploadStore`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable
from typing import Any, TypeVar

log = logging.getLogger("upload_emulator.retention")

DEFAULT_RETAIN = 10_000
V = TypeVar("V")


class Cap:
    """A store's cap, and whether it has already said that it is forgetting."""

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        self.forgotten = 0

    def trim(self, entries: dict[Any, V], pinned: Collection[Hashable] = ()) -> list[V]:
        """Drop the oldest unpinned entries (dicts keep insertion order) past the cap; return them.

        Pinned entries do not count against the cap."""
        over = len(entries) - sum(1 for key in pinned if key in entries) - self.limit
        if over <= 0:
            return []
        doomed = []
        for key in entries:  # from the oldest, stopping after `over`: no copy of the whole store per put
            if key not in pinned:
                doomed.append(key)
                if len(doomed) == over:
                    break
        dropped = [entries.pop(key) for key in doomed]
        if dropped and not self.forgotten:
            log.warning("keeping the newest %d %s; older ones are forgotten (see --retain)", self.limit, self.what)
        self.forgotten += len(dropped)
        return dropped

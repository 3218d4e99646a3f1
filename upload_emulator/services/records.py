"""Upload records and vendor resources (sources, jobs, …), in memory and thread-safe.

Every vendor's upload goes through the same record: minted (`pending`), bytes stored
(`uploaded`), used by the vendor (`redeemed`). The S3 endpoint finds the record by its
object key to enforce the size cap. Vendor resources are plain dicts owned by a workspace;
a lookup from another workspace finds nothing, so existence never leaks.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from upload_emulator.core.clock import isoformat
from upload_emulator.core.retention import DEFAULT_RETAIN, Cap

PENDING, UPLOADED, REDEEMED, REMOVED = "pending", "uploaded", "redeemed", "removed"


@dataclass
class UploadRecord:
    id: str
    vendor: str
    workspace: str
    content_type: str
    max_size_bytes: int
    created_at: datetime
    expires_at: datetime | None  # None: the handle itself never expires (its URLs still do)
    bucket: str
    key: str
    state: str = PENDING
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    uploaded_at: datetime | None = None
    redeemed_at: datetime | None = None
    redeemed_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The end of the latest window a minted PUT URL gave (None: no URL was minted, so S3 takes no PUT).
    put_until: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "workspace": self.workspace,
            "state": self.state,
            "contentType": self.content_type,
            "maxSizeBytes": self.max_size_bytes,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "bucket": self.bucket,
            "key": self.key,
            "createdAt": isoformat(self.created_at),
            "expiresAt": isoformat(self.expires_at) if self.expires_at else None,
            "uploadedAt": isoformat(self.uploaded_at) if self.uploaded_at else None,
            "redeemedAt": isoformat(self.redeemed_at) if self.redeemed_at else None,
            "redeemedBy": self.redeemed_by,
        }


class NotRedeemable(Exception):
    """Why an upload cannot be redeemed: `reason` is missing, used, removed, expired or empty."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UploadStore:
    """Upload records by id and by object; past the cap the oldest are forgotten with `forget`
    (the runtime deletes their bytes), so a server that runs for days stays the same size."""

    def __init__(
        self, retain: int = DEFAULT_RETAIN, forget: Callable[[UploadRecord], None] = lambda record: None
    ) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, UploadRecord] = {}
        self._by_object: dict[tuple[str, str], UploadRecord] = {}
        self._cap = Cap("uploads", retain)
        self._forget = forget

    def reset(self) -> tuple[dict, dict]:
        """Start empty; returns the old records, for the caller to free (see `reaper`)."""
        with self._lock:
            old = (self._by_id, self._by_object)
            self._by_id, self._by_object = {}, {}
        return old

    def add(self, record: UploadRecord) -> UploadRecord:
        with self._lock:
            self._by_id[record.id] = record
            self._by_object[(record.bucket, record.key)] = record
            dropped = self._cap.trim(self._by_id)
            for old in dropped:
                self._by_object.pop((old.bucket, old.key), None)
        for old in dropped:
            self._forget(old)
        return record

    def get(self, upload_id: str, workspace: str | None = None, vendor: str | None = None) -> UploadRecord | None:
        """The upload with this id, if it belongs to `workspace` and `vendor` (each where given):
        a vendor's handler never sees another vendor's or another workspace's upload."""
        record = self._by_id.get(upload_id)
        if record is None or (workspace is not None and record.workspace != workspace):
            return None
        if vendor is not None and record.vendor != vendor:
            return None
        return record

    def for_object(self, bucket: str, key: str) -> UploadRecord | None:
        return self._by_object.get((bucket, key))

    def all(self, vendor: str | None = None) -> list[UploadRecord]:
        with self._lock:
            return [r for r in self._by_id.values() if vendor in (None, r.vendor)]

    def accept_bytes(self, record: UploadRecord, store: Callable[[], Any], now: datetime) -> Any | None:
        """Store an upload's bytes with `store()` and record them, as one step.

        Runs under the same lock as `redeem`, so bytes can never land on (or replace those of)
        an upload that was used or removed meanwhile; then it returns None and stores nothing.
        """
        with self._lock:
            if record.state in (REDEEMED, REMOVED):
                return None
            stored = store()
            record.state, record.size, record.sha256, record.etag = UPLOADED, stored.size, stored.sha256, stored.etag
            record.uploaded_at = now
            return stored

    def redeem(self, upload_id: str, workspace: str, by: str, now: datetime) -> UploadRecord:
        """Atomically take an uploaded, unexpired upload of `workspace` for one use."""
        with self._lock:
            record = self._by_id.get(upload_id)
            if record is None or record.workspace != workspace:
                raise NotRedeemable("missing", f"upload {upload_id} does not exist in this workspace")
            if record.state == REDEEMED:
                raise NotRedeemable("used", f"upload {upload_id} has already been used")
            if record.state == REMOVED:
                raise NotRedeemable("removed", f"upload {upload_id} was deleted")
            if record.expires_at is not None and record.is_expired(now):
                raise NotRedeemable("expired", f"upload {upload_id} expired at {isoformat(record.expires_at)}")
            if record.state != UPLOADED:
                raise NotRedeemable("empty", f"upload {upload_id} has no bytes yet: PUT the file to its URL first")
            record.state, record.redeemed_at, record.redeemed_by = REDEEMED, now, by
            return record

    def release(self, record: UploadRecord) -> bool:
        """Make a redeemed upload usable again (its ingest failed or was cancelled); False if it is gone."""
        with self._lock:
            if record.state != REDEEMED:
                return False
            record.state, record.redeemed_at, record.redeemed_by = UPLOADED, None, None
            return True

    def remove(self, record: UploadRecord) -> None:
        with self._lock:
            record.state = REMOVED


class ResourceStore:
    """Vendor resources by (vendor, kind, id), each owned by one workspace.

    Every item gets `_seq`, a number that only grows, so lists can page with stable cursors.
    """

    def __init__(self, retain: int = DEFAULT_RETAIN * 4) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}
        self._pinned: set[tuple[str, str, str]] = set()
        self._sequence = itertools.count(1)
        self._cap = Cap("vendor resources", retain)

    def reset(self) -> dict:
        """Start empty; returns the old items, for the caller to free (see `reaper`)."""
        with self._lock:
            old = self._items
            self._items, self._pinned = {}, set()
        return old

    def put(self, vendor: str, kind: str, workspace: str, item: dict[str, Any], pinned: bool = False) -> dict[str, Any]:
        """Store an item; `pinned` (the fixtures' own) is never forgotten."""
        with self._lock:
            item.setdefault("_seq", next(self._sequence))
            self._items[(vendor, kind, item["id"])] = (workspace, item)
            if pinned:
                self._pinned.add((vendor, kind, item["id"]))
            self._cap.trim(self._items, self._pinned)
        return item

    def get(self, vendor: str, kind: str, item_id: str, workspace: str) -> dict[str, Any] | None:
        found = self._items.get((vendor, kind, item_id))
        if found is None or found[0] != workspace:
            return None
        return found[1]

    def list(self, vendor: str, kind: str, workspace: str) -> list[dict[str, Any]]:
        """A workspace's items of one kind, oldest first."""
        with self._lock:
            return [item for (v, k, _), (ws, item) in self._items.items() if (v, k, ws) == (vendor, kind, workspace)]

    def update(self, vendor: str, kind: str, item_id: str, **changes: Any) -> None:
        with self._lock:
            found = self._items.get((vendor, kind, item_id))
            if found is not None:
                found[1].update(changes)

"""moto's in-process S3: the only module that imports moto.

A body is spooled and hashed as it arrives (`blobs/body.py`); only when it is whole is it swapped
into moto as the object, in one step, so a reader sees the old object or the new one and an
interrupted or rejected body leaves nothing behind. Objects are read back in chunks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from upload_emulator.blobs.body import Staged, stage

if TYPE_CHECKING:
    from moto.s3.models import FakeKey

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    etag: str  # quoted MD5 hex, as S3 sends it
    sha256: str
    content_type: str
    last_modified: datetime


# --- moto's internals, every use of them named here ------------------------------------------
# moto has no public API to give an object a buffer of our own, to read one in place, or to walk
# a bucket's versions; these four lines are the only places this package touches moto's private
# names (FakeKey._value_buffer, _VersionedKeyStore._iterlists).
def _buffer(fake: FakeKey) -> Any:
    """The object's bytes as moto holds them (a seekable file-like)."""
    return fake._value_buffer


def _give_buffer(fake: FakeKey, buffer: Any) -> None:
    """Make `buffer` (a staged body, already complete) the object's bytes, in place of moto's own."""
    fake._value_buffer.close()
    fake._value_buffer = buffer


def _all_versions(store: Any) -> Any:
    """(key, [every FakeKey stored under it]) for a bucket's key store."""
    return store._iterlists()


def _untrack(fake: FakeKey) -> None:
    """moto appends every model it makes to a class-wide list (for its own reset), so a
    long-running server kept every object it ever stored alive, deleted or not: the FakeKey,
    and the private ACL its constructor makes (a FakeAcl, its FakeGrant and FakeGrantee), which
    grew the server by a kilobyte per stored object past every cap. This storage disposes of its
    keys itself (delete, reset, close), so it takes each of them back off those lists. Appends
    made meanwhile by other threads go to the end, so a search from the end is safe."""
    acl = getattr(fake, "acl", None)
    grants = list(getattr(acl, "grants", None) or ())
    made = [fake, *([acl] if acl is not None else []), *grants, *(g for grant in grants for g in grant.grantees)]
    for model in made:
        tracked = type(model).instances_tracked
        for index in range(len(tracked) - 1, -1, -1):
            if tracked[index] is model:
                del tracked[index]
                break


def _fake_key() -> type[FakeKey]:
    from moto.s3.models import FakeKey

    return FakeKey


def _call(work: Callable[[], None]) -> None:
    work()


def _dispose(stores: list[Any]) -> None:
    """Free every object of some emptied key stores (their spools and temp files), yielding the
    GIL every few so a reaper thread doing this does not stall requests."""
    for store in stores:
        for count, (_name, fakes) in enumerate(_all_versions(store), 1):
            for fake in fakes:
                fake.dispose()
            if count % 256 == 0:
                time.sleep(0)


class ObjectStorage:
    """One emulator's buckets, in a moto account of its own."""

    def __init__(self, region: str, instance_id: str) -> None:
        self.region = region
        self.account_id = f"{int(instance_id, 16) % 10**12:012d}"
        self._lock = threading.RLock()  # held while `_backend` may load moto
        self._loaded: Any = None
        self._wanted: list[str] = []  # buckets to make once moto is loaded

    @property
    def _backend(self) -> Any:
        """This emulator's moto S3 account. Importing moto is a quarter of a second, a third of
        the emulator's start-up, so it waits for the first use of storage (or `load`)."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    from moto.s3.models import s3_backends

                    backend = s3_backends[self.account_id]["aws"]
                    for name in self._wanted:
                        if name not in backend.buckets:
                            backend.create_bucket(name, self.region)
                    self._loaded = backend
        return self._loaded

    def load(self) -> None:
        """Load moto now (`serve` does it in the background once it is answering)."""
        _ = self._backend

    def ensure_bucket(self, name: str) -> None:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._wanted.append(name)
                    return
        with self._lock:
            if name not in self._backend.buckets:
                self._backend.create_bucket(name, self.region)

    def has_bucket(self, name: str) -> bool:
        return name in self._backend.buckets

    def bucket_names(self) -> list[str]:
        return sorted(self._backend.buckets)

    def commit(self, bucket: str, key: str, staged: Staged, content_type: str) -> StoredObject:
        """Swap a staged body in as the object, in one step (a reader sees the old or the new)."""
        from moto.s3.models import FakeKey

        fake = FakeKey(
            name=key,
            value=b"",
            account_id=self.account_id,
            region_name=self.region,
            bucket_name=bucket,
            etag=staged.etag,
        )
        _untrack(fake)
        _give_buffer(fake, staged.spool)
        fake.contentsize = staged.size
        fake.set_metadata({"Content-Type": content_type})
        with self._lock:
            keys = self._backend.get_bucket(bucket).keys
            previous = keys.getlist(key, [])
            keys.setlist(key, [fake])
        for old in previous:
            old.dispose()
        return self._describe(bucket, fake, staged.sha256_hex)

    def put_stream(
        self, bucket: str, key: str, chunks: Iterable[bytes], content_type: str, expected_size: int
    ) -> StoredObject:
        """Stage then commit: store exactly `expected_size` bytes, or nothing."""
        return self.commit(bucket, key, stage(chunks, expected_size), content_type)

    def head(self, bucket: str, key: str) -> StoredObject | None:
        fake = self._find(bucket, key)
        return None if fake is None else self._describe(bucket, fake, None)

    def iter_content(
        self, bucket: str, key: str, chunk_bytes: int = CHUNK_BYTES, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Stream an object's bytes `start`..`end` (inclusive; default all), with positioned reads
        so concurrent readers don't interfere."""
        fake = self._find(bucket, key)
        if fake is None:
            return
        offset, left = start, (fake.contentsize if end is None else end + 1) - start
        while left > 0:
            with fake.lock:
                buffer = _buffer(fake)
                if buffer.closed:
                    return
                buffer.seek(offset)
                chunk = buffer.read(min(chunk_bytes, left))
            if not chunk:
                return
            offset += len(chunk)
            left -= len(chunk)
            yield chunk

    def delete(self, bucket: str, key: str) -> bool:
        if self._loaded is None:
            return False  # nothing was ever stored: no reason to load moto to find that out
        with self._lock:
            bucket_obj = self._backend.buckets.get(bucket)
            if bucket_obj is None or key not in bucket_obj.keys:
                return False
            removed = bucket_obj.keys.getlist(key, [])
            del bucket_obj.keys[key]
        for old in removed:
            old.dispose()
        return True

    def list(self, bucket: str, prefix: str = "") -> list[StoredObject]:
        bucket_obj = self._backend.buckets.get(bucket)
        if bucket_obj is None:
            return []
        return [
            self._describe(bucket, fake, None)
            for name, fake in sorted(bucket_obj.keys.items())
            if name.startswith(prefix) and isinstance(fake, _fake_key())
        ]

    def reset(self, later: Callable[[Callable[[], None]], None] | None = None) -> None:
        """Empty every bucket of this emulator at once (the buckets themselves stay).

        Each bucket gets a new, empty key store in one step; freeing the old objects' bytes
        (10,000 spools or temp files) is handed to `later` when given (the emulator's reaper),
        so a per-test reset costs the same with ten thousand uploads stored as with none.
        """
        if self._loaded is None:
            return  # nothing was ever stored
        with self._lock:
            dropped = []
            for bucket in self._backend.buckets.values():
                if bucket.keys:
                    dropped.append(bucket.keys)
                    bucket.keys = type(bucket.keys)()
        if dropped:
            (later or _call)(lambda: _dispose(dropped))

    def close(self) -> None:
        """Remove this emulator's buckets from the process-wide moto state."""
        if self._loaded is None:
            return
        self.reset()
        with self._lock:
            for name in self.bucket_names():
                self._backend.delete_bucket(name)

    def _find(self, bucket: str, key: str) -> FakeKey | None:
        bucket_obj = self._backend.buckets.get(bucket)
        if bucket_obj is None:
            return None
        fake = bucket_obj.keys.get(key)
        return fake if isinstance(fake, _fake_key()) else None

    @staticmethod
    def _describe(bucket: str, fake: FakeKey, sha256: str | None) -> StoredObject:
        return StoredObject(
            bucket=bucket,
            key=fake.name,
            size=fake.contentsize,
            etag=fake.etag,
            sha256=sha256 or "",
            content_type=fake.metadata.get("Content-Type", "binary/octet-stream"),
            last_modified=fake.last_modified,
        )

"""moto's in-process S3, fed by streams: the only module that imports moto.

A PUT body arrives as chunks. They are hashed (MD5 for the ETag, SHA-256 for the record)
and written to a temporary file that spills to disk past a small threshold, so a 1 GiB
body never sits in memory. Only when the whole body has arrived is the object swapped
into moto in one step; an interrupted or rejected body leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected

if TYPE_CHECKING:
    from moto.s3.models import FakeKey

CHUNK_BYTES = 1024 * 1024
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    etag: str  # quoted MD5 hex, as S3 sends it
    sha256: str
    content_type: str
    last_modified: datetime


class _BodyWorkers:
    """A body's MD5, its SHA-256 and its write to disk, each on a helper thread of its own.

    The request thread only reads the socket and hands each chunk on. hashlib releases the
    GIL on large buffers and so does a file write, so the three overlap each other and the
    reading: MD5 (about 600 MB/s here; SHA-256, with the CPU's SHA instructions, over twice
    that) sets the pace on one core while the rest share the other. Each queue holds at most
    a few chunks, so memory stays bounded; a failed write (a full disk) stops the upload.
    """

    def __init__(self, write: Callable[[bytes], Any], md5=None, sha256=None) -> None:
        # Started from copies of earlier hashes, it continues them (an object built in ranges).
        self._md5 = md5 or hashlib.md5(usedforsecurity=False)
        self._sha = sha256 or hashlib.sha256()
        self._lanes = [_Lane(self._md5.update), _Lane(self._sha.update), _Lane(write)]

    def feed(self, chunk: bytes) -> None:
        for lane in self._lanes:
            lane.put(chunk)

    def finish(self) -> tuple[str, str]:
        md5, sha = self.finish_hashes()
        return md5.hexdigest(), sha.hexdigest()

    def finish_hashes(self) -> tuple:
        """The hash objects themselves (to continue with the next range), once all is written."""
        for lane in self._lanes:
            lane.stop()
        return self._md5, self._sha

    def abandon(self) -> None:
        """Stop every lane and wait for it, so nothing writes after the caller cleans up."""
        for lane in self._lanes:
            lane.stop(raising=False)


class _Lane:
    """One piece of work done on each chunk, in order, on its own thread."""

    def __init__(self, work: Callable[[bytes], Any]) -> None:
        self.work = work
        self.error: BaseException | None = None
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self.thread = threading.Thread(target=self._run, name="upload-body", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.work(chunk)
                except BaseException as exc:  # handed to the request thread at its next step
                    self.error = exc

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def stop(self, raising: bool = True) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if raising and self.error is not None:
            raise self.error


def _removed_with(owner: object, file: Any, path: str) -> weakref.finalize:
    """Close `file` and remove `path` when `owner` is freed, or else when the process exits: an
    emulator that is never closed (a test's, a killed server's reset) leaves no temp file."""
    return weakref.finalize(owner, _close_and_remove, file, path)


def _close_and_remove(file: Any, path: str) -> None:
    if file is not None:
        file.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class DiskBody:
    """A stored object's bytes in a file on disk that is open only while it is being read.

    moto keeps each object's buffer for as long as the object lives; an open file per object
    ran a long-lived server out of descriptors after about a thousand large uploads. This
    buffer holds a path instead: every read opens, reads and closes. `close` removes the
    file, so deleting an object or resetting gives the disk back too.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = False
        self._position = 0
        self._remove = _removed_with(self, None, path)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = offset if whence == 0 else self._position + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read of a closed object body")
        with open(self.path, "rb") as file:
            file.seek(self._position)
            data = file.read(size)
        self._position += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._remove()


class _Spool:
    """Bytes in memory up to SPOOL_BYTES, then in a named file (so it can become a DiskBody)."""

    def __init__(self) -> None:
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: Any = None
        self.path: str | None = None
        self._remove: weakref.finalize | None = None

    def write(self, data: bytes) -> None:
        if self._memory is not None and self._memory.tell() + len(data) > SPOOL_BYTES:
            fd, self.path = tempfile.mkstemp(prefix="upload-emulator-")
            self._file = os.fdopen(fd, "wb")
            self._remove = _removed_with(self, self._file, self.path)
            self._file.write(self._memory.getvalue())
            self._memory = None
        (self._memory if self._memory is not None else self._file).write(data)

    def body(self) -> Any:
        """The finished bytes as an object buffer: in memory, or a DiskBody with no open file."""
        if self._memory is not None:
            self._memory.seek(0)
            return self._memory
        self._file.close()
        if self._remove is not None:
            self._remove.detach()  # the DiskBody owns the file now
        return DiskBody(self.path or "")

    def discard(self) -> None:
        if self._remove is not None:
            self._remove()
        self._memory = None


@dataclass
class Staged:
    """A complete body waiting to become an object (or to be discarded)."""

    spool: Any  # a buffer moto can seek and read: BytesIO or DiskBody
    size: int
    md5_hex: str
    sha256_hex: str

    def discard(self) -> None:
        self.spool.close()


class Assembly:
    """An object built from ranges that arrive in order (Adclear's chunks), on disk, hashed as they come.

    Each `append` is all or nothing: a range cut short leaves the file and the hashes as they
    were, so a client resumes from `size`. `staged()` hands the finished body to `commit`.
    """

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="upload-emulator-")
        self._file = os.fdopen(fd, "w+b")  # open while chunks arrive; a DiskBody once complete
        self._remove = _removed_with(self, self._file, self._path)  # an upload abandoned mid-way
        self._md5, self._sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        self.size = 0

    def append(self, chunks: Iterable[bytes], expected: int, skip: int = 0) -> None:
        """Take exactly `expected` bytes; the first `skip` of them are already held and dropped."""
        self._file.seek(self.size)
        hasher = _BodyWorkers(self._file.write, self._md5.copy(), self._sha.copy())
        seen = written = 0
        try:
            for chunk in chunks:
                keep = chunk[max(0, skip - seen) :]
                seen += len(chunk)
                if keep:
                    hasher.feed(keep)
                    written += len(keep)
            if seen != expected:
                raise BodyTooShort(f"received {seen} of {expected} bytes")
            md5, sha = hasher.finish_hashes()
        except BaseException:
            hasher.abandon()
            self._file.truncate(self.size)
            raise
        self._md5, self._sha = md5, sha
        self.size += written

    def staged(self) -> Staged:
        """The finished file, handed over: from here on the DiskBody owns (and removes) it."""
        self._file.close()
        self._remove.detach()
        path, self._path = self._path, ""
        return Staged(DiskBody(path), self.size, self._md5.hexdigest(), self._sha.hexdigest())

    def discard(self) -> None:
        self._remove()
        self._path = ""


class BodyTooShort(Exception):
    """The client stopped sending before Content-Length bytes arrived."""


# Everything that means "the body did not arrive as framed": short, the client gone (cleanly or
# by a reset), or chunked framing the server could not decode (cheroot raises ValueError).
BODY_CUT_SHORT = (BodyTooShort, ClientDisconnected, ConnectionError, ValueError)


def _untrack(fake: FakeKey) -> None:
    """moto appends every FakeKey it makes to a class-wide list (for its own reset), so a
    long-running server kept every object it ever stored alive, deleted or not. This storage
    disposes of its keys itself (delete, reset, close), so it takes each one back off that list.
    Appends made meanwhile by other threads go to the end, so a search from the end is safe."""
    tracked = type(fake).instances_tracked  # type: ignore[attr-defined]
    for index in range(len(tracked) - 1, -1, -1):
        if tracked[index] is fake:
            del tracked[index]
            return


def _fake_key() -> type[FakeKey]:
    from moto.s3.models import FakeKey

    return FakeKey


def _call(work: Callable[[], None]) -> None:
    work()


def _dispose(stores: list[Any]) -> None:
    """Free every object of some emptied key stores (their spools and temp files), yielding the
    GIL every few so a reaper thread doing this does not stall requests."""
    for store in stores:
        for count, (_name, fakes) in enumerate(store._iterlists(), 1):
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

    def stage(self, chunks: Iterable[bytes], expected_size: int) -> Staged:
        """Spool and hash exactly `expected_size` bytes; BodyTooShort (or any error) leaves nothing."""
        spool = _Spool()
        hasher = _BodyWorkers(spool.write)
        size = 0
        try:
            for chunk in chunks:
                hasher.feed(chunk)
                size += len(chunk)
            md5_hex, sha256_hex = hasher.finish()
            if size != expected_size:
                raise BodyTooShort(f"received {size} of {expected_size} bytes")
        except BaseException:
            hasher.abandon()
            spool.discard()
            raise
        return Staged(spool.body(), size, md5_hex, sha256_hex)

    def commit(self, bucket: str, key: str, staged: Staged, content_type: str) -> StoredObject:
        """Swap a staged body in as the object, in one step (a reader sees the old or the new)."""
        from moto.s3.models import FakeKey

        fake = FakeKey(
            name=key,
            value=b"",
            account_id=self.account_id,
            region_name=self.region,
            bucket_name=bucket,
            etag=staged.md5_hex,
        )
        _untrack(fake)
        fake._value_buffer.close()
        fake._value_buffer = staged.spool
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
        return self.commit(bucket, key, self.stage(chunks, expected_size), content_type)

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
                if fake._value_buffer.closed:
                    return
                fake._value_buffer.seek(offset)
                chunk = fake._value_buffer.read(min(chunk_bytes, left))
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

"""A body while it arrives: hashed, and spooled to memory or to a file, whole or not at all.

A PUT body (or one of Adclear's ranges) is read a piece at a time. Each piece is hashed
(MD5 for the ETag, SHA-256 for the record), each hash on a thread of its own (hashlib lets
go of the GIL over large buffers, so the two run beside the socket reads on two cores),
and written to a spool that moves to a file past SPOOL_BYTES, so a 1 GiB body never sits
in memory. A body becomes an object only once it is complete (`ObjectStorage.commit`); one
cut short, or refused, is discarded and leaves nothing behind.

Files live in one directory per process (`Scratch`), which the process holds a lock on.
A process killed outright (SIGKILL) cannot clean up, so the next emulator to start removes
every such directory whose lock nobody holds any longer.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import os
import queue
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import ClientDisconnected

try:
    import fcntl
except ImportError:  # not POSIX: no lock, and no sweeping of other processes' directories
    fcntl = None  # type: ignore[assignment]

SPOOL_BYTES = 1024 * 1024  # a body up to this stays in memory
PIECE_BYTES = 1024 * 1024  # read from a body at a time
QUEUED = 4  # pieces a hash may have waiting: what bounds a body's memory
SCRATCH_PREFIX = "upload-emulator-"
LOCK_NAME = ".owner.lock"


class BodyTooShort(Exception):
    """The client stopped sending before the declared number of bytes arrived."""


# Everything that means "the body did not arrive as framed": short, the client gone (cleanly or
# by a reset), or framing the server could not decode (a ValueError: `serving.framing`).
BODY_CUT_SHORT = (BodyTooShort, ClientDisconnected, ConnectionError, ValueError)


def new_md5() -> Any:
    """A new MD5 for a body's ETag (not for security): one place, so a test can hold it back."""
    return hashlib.md5(usedforsecurity=False)


# --- where bodies on disk live ---------------------------------------------------------
class Scratch:
    """This process's directory for bodies on disk, made on first use and locked while the process lives."""

    def __init__(self, parent: str | None = None) -> None:
        self.parent = parent
        self._path: str | None = None
        self._lock_file: Any = None
        self._guard = threading.Lock()
        self._swept = False

    def sweep_once(self) -> None:
        """Remove the directories of emulators that were killed (`sweep_orphans`), once a process:
        every emulator calls this as it starts, and only the first one in a process looks."""
        with self._guard:
            if not self._swept:
                self._swept = True
                sweep_orphans(self.parent)

    @property
    def path(self) -> str:
        self.sweep_once()
        if self._path is None:
            with self._guard:
                if self._path is None:
                    path = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=self.parent)
                    self._lock_file = open(os.path.join(path, LOCK_NAME), "wb")  # noqa: SIM115  # held for life
                    if fcntl is not None:
                        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._path = path
        return self._path

    def new_file(self) -> str:
        fd, path = tempfile.mkstemp(dir=self.path, prefix="body-")
        os.close(fd)
        return path

    def remove(self) -> None:
        """Remove the directory and everything in it (at exit)."""
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            if self._lock_file is not None:
                self._lock_file.close()
            self._path = None


def sweep_orphans(parent: str | None = None) -> list[str]:
    """Remove the scratch directories of emulators that are gone (killed, so they could not clean up).

    A directory whose lock can be taken has no living owner: the kernel drops a process's
    locks however it ends. Returns the directories removed."""
    if fcntl is None:
        return []
    base = parent or tempfile.gettempdir()
    removed = []
    try:
        names = [n for n in os.listdir(base) if n.startswith(SCRATCH_PREFIX)]
    except OSError:
        return []
    for name in names:
        path = os.path.join(base, name)
        try:
            with open(os.path.join(path, LOCK_NAME), "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held (its emulator is alive), or not one of ours
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


SCRATCH = Scratch()
atexit.register(SCRATCH.remove)  # a normal exit leaves nothing; a killed one is swept by the next start


# --- hashing beside the reads -------------------------------------------------------------
class _Hashing:
    """One hash over a body's pieces, in order, on a thread of its own."""

    def __init__(self, digest: Any) -> None:
        self.digest = digest
        self.error: BaseException | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUED)
        self._thread = threading.Thread(target=self._run, name="upload-body-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self.digest.update(piece)
                except BaseException as exc:  # handed to the request thread by `result`
                    self.error = exc

    def put(self, piece: Any) -> None:
        self._queue.put(piece)

    def result(self) -> Any:
        """The hash object, once every piece is in it."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.digest

    def abandon(self) -> None:
        with contextlib.suppress(BaseException):
            self.result()


def _pieces(body: Any) -> Iterator[Any]:
    """A body's bytes in pieces of up to PIECE_BYTES: from a stream (read into a new buffer each
    time, so the hashes may keep it), or from an iterable of bytes as it comes."""
    readinto = getattr(body, "readinto", None)
    if readinto is None:
        read = getattr(body, "read", None)
        yield from iter(lambda: read(PIECE_BYTES), b"") if read is not None else body
        return
    while True:
        buffer = bytearray(PIECE_BYTES)
        view = memoryview(buffer)
        got = 0
        while got < PIECE_BYTES:
            n = readinto(view[got:])
            if not n:
                break
            got += n
        if got:
            yield view[:got]
        if got < PIECE_BYTES:
            return


# --- stored bytes -----------------------------------------------------------------------------
def _removed_with(owner: object, path: str) -> weakref.finalize:
    """Remove `path` when `owner` is freed (an object deleted, a reset, an emulator dropped)."""
    return weakref.finalize(owner, _remove_file, path)


def _remove_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class DiskBody:
    """A stored object's bytes in a file, open only while it is being read.

    moto keeps each object's buffer for as long as the object lives; an open file per object
    ran a long-lived server out of descriptors after about a thousand large uploads. This
    buffer holds a path instead: every read opens, reads and closes. `close` removes the
    file, so deleting an object or resetting gives the disk back too.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = False
        self._position = 0
        self._remove = _removed_with(self, path)

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
    """Bytes in memory up to SPOOL_BYTES, then in a file of the scratch directory."""

    def __init__(self) -> None:
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: Any = None
        self._path: str | None = None
        self._remove: weakref.finalize | None = None

    def write(self, data: Any) -> None:
        if self._memory is not None and self._memory.tell() + len(data) > SPOOL_BYTES:
            self._path = SCRATCH.new_file()
            self._remove = _removed_with(self, self._path)
            self._file = open(self._path, "wb")  # noqa: SIM115  # closed by body() or discard()
            self._file.write(self._memory.getbuffer())
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
        return DiskBody(self._path or "")

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._remove is not None:
            self._remove()
        self._memory = None


@dataclass
class Staged:
    """A complete body waiting to become an object (or to be discarded)."""

    spool: Any  # a buffer moto can seek and read: BytesIO or DiskBody
    size: int
    # S3's ETag, unquoted: a single body's MD5 in hex; for one built from parts (an Assembly),
    # the MD5 of the parts' MD5s with "-" and their count, as S3 gives a multipart object.
    etag: str
    sha256_hex: str

    def discard(self) -> None:
        self.spool.close()


def stage(body: Any, expected_size: int) -> Staged:
    """Spool and hash exactly `expected_size` bytes of `body` (a stream, or an iterable of bytes);
    a short body, or any error, leaves nothing."""
    spool = _Spool()
    md5, sha = _Hashing(new_md5()), _Hashing(hashlib.sha256())
    try:
        size = 0
        for piece in _pieces(body):
            md5.put(piece)
            sha.put(piece)
            spool.write(piece)
            size += len(piece)
        etag, sha256_hex = md5.result().hexdigest(), sha.result().hexdigest()
        if size != expected_size:
            raise BodyTooShort(f"received {size} of {expected_size} bytes")
        return Staged(spool.body(), size, etag, sha256_hex)
    except BaseException:
        md5.abandon()
        sha.abandon()
        spool.discard()
        raise


def parts_etag(part_md5s: list[bytes]) -> str:
    """S3's ETag of an object made of parts with these MD5 digests (one part still says "-1")."""
    return f"{hashlib.md5(b''.join(part_md5s), usedforsecurity=False).hexdigest()}-{len(part_md5s)}"


class Assembly:
    """An object built from ranges that arrive in order (Adclear's chunks), in one file, hashed as they come.

    Each `append` is all or nothing: a range cut short, or one whose write fails, leaves the
    file and the hashes as they were, so a client resumes from `size`. Each range that adds
    bytes is a part with an MD5 of its own, and the object's ETag is S3's multipart one
    (`parts_etag`); the SHA-256 runs over the whole object.
    """

    def __init__(self) -> None:
        self._path = SCRATCH.new_file()
        self._remove = _removed_with(self, self._path)  # an upload abandoned mid-way
        self._sha = hashlib.sha256()
        self.size = 0
        self._parts: list[bytes] = []

    def append(self, body: Any, expected: int, skip: int = 0) -> None:
        """Take exactly `expected` bytes (a stream, or an iterable of bytes); the first `skip` of
        them are already held and dropped."""
        md5, sha = _Hashing(new_md5()), _Hashing(self._sha.copy())
        seen = 0
        with open(self._path, "r+b") as file:
            file.seek(self.size)
            try:
                for piece in _pieces(body):
                    keep = piece[max(0, skip - seen) :]
                    seen += len(piece)
                    if len(keep):
                        md5.put(keep)
                        sha.put(keep)
                        file.write(keep)
                if seen != expected:
                    raise BodyTooShort(f"received {seen} of {expected} bytes")
                file.flush()
                part, whole = md5.result().digest(), sha.result()
            except BaseException:
                md5.abandon()
                sha.abandon()
                file.truncate(self.size)
                raise
        added = max(0, seen - skip)
        self._sha = whole
        self.size += added
        if added:
            self._parts.append(part)

    def staged(self) -> Staged:
        """The finished file, handed over: from here on the DiskBody owns (and removes) it."""
        self._remove.detach()
        path, self._path = self._path, ""
        return Staged(DiskBody(path), self.size, parts_etag(self._parts), self._sha.hexdigest())

    def discard(self) -> None:
        self._remove()
        self._path = ""

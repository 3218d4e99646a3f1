"""A body while it arrives: hashed on helper threads, and spooled to memory, then to a file.

A PUT body (or one of Adclear's ranges) arrives as chunks. Each is hashed (MD5 for the ETag,
SHA-256 for the record) and written to a spool that spills to a temporary file past
SPOOL_BYTES, so a 1 GiB body never sits in memory; the file is written with direct I/O where
that pays (`filewriter.py`). A body becomes a stored object only once it is complete
(`ObjectStorage.commit`); one cut short, or refused, is discarded and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import queue
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import ClientDisconnected

from upload_emulator.buffers import BufferPool
from upload_emulator.filewriter import FileWriter

SPOOL_BYTES = 1024 * 1024
PIECE_BYTES = 1024 * 1024  # read from a body at a time: each piece costs every lane a hand-off
QUEUED = 4  # pieces a lane may have waiting: what bounds a body's memory
RING = QUEUED + 3  # a lane's waiting pieces, the one it works on, the one being read, one spare
_pieces = BufferPool(PIECE_BYTES, keep=2 * RING)


def new_md5() -> Any:
    """A new MD5 for a body's ETag (not for security): one place, so a test can hold it back."""
    return hashlib.md5(usedforsecurity=False)


class _BodyWorkers:
    """A body's MD5, its SHA-256 and its write to disk, each on a helper thread of its own.

    The request thread only reads the socket and hands each piece on. hashlib releases the
    GIL on large buffers and so does a file write, so the three overlap each other and the
    reading: MD5 (about 800 MB/s here; SHA-256, with the CPU's SHA instructions, over twice
    that) sets the pace on one core while the rest share the other. Each lane holds at most
    QUEUED pieces, so memory stays bounded; a failed write (a full disk) stops the upload.

    `read_from` reads a stream into a ring of RING reused buffers (readinto, where the stream
    has it), each refilled only once every lane is done with it: a new 1 MiB bytes object a
    piece was new memory to fault in and free again, a fifth of a large PUT's kernel time.
    """

    def __init__(self, write: Callable[[Any], Any], sha256=None) -> None:
        # Started from a copy of an earlier SHA-256, it continues it (an object built in ranges).
        self._md5 = new_md5()
        self._sha = sha256 or hashlib.sha256()
        self._done = threading.Condition()  # a lane finished a piece: a buffer may be free again
        self._lanes = [_Lane(work, self._done) for work in (self._md5.update, self._sha.update, write)]
        self._ring: list[mmap.mmap] = []
        self._fed = 0  # pieces handed to the lanes
        self._last_use: list[int] = []  # per ring buffer, the number of the last piece fed from it

    def feed(self, chunk) -> None:
        for lane in self._lanes:
            lane.put(chunk)
        self._fed += 1

    def take(self, body, skip: int = 0) -> int:
        """Feed a body (a stream, or an iterable of bytes), all but its first `skip` bytes; returns
        the bytes it had."""
        if hasattr(body, "read"):
            return self.read_from(body, skip)
        seen = 0
        for chunk in body:
            keep = chunk[max(0, skip - seen) :]
            seen += len(chunk)
            if keep:
                self.feed(keep)
        return seen

    def read_from(self, stream, skip: int = 0) -> int:
        """Read `stream` to its end, feeding all but its first `skip` bytes; returns the bytes read."""
        readinto = getattr(stream, "readinto", None)
        seen = 0
        while True:
            slot = self._free_slot()
            with memoryview(self._ring[slot]) as buffer:
                got = _fill(buffer, stream, readinto)
                if not got:
                    return seen
                start = min(got, max(0, skip - seen))
                seen += got
                if start < got:
                    self._last_use[slot] = self._fed
                    self.feed(buffer[start:got])
            if got < PIECE_BYTES:
                return seen

    def _free_slot(self) -> int:
        """A ring buffer no lane still has to work on (waiting while they catch up)."""
        if len(self._ring) < RING:
            self._ring.append(_pieces.take())
            self._last_use.append(-1)
            return len(self._ring) - 1
        slot = min(range(RING), key=self._last_use.__getitem__)
        with self._done:
            self._done.wait_for(lambda: all(lane.done > self._last_use[slot] or lane.failed for lane in self._lanes))
        return slot

    def finish(self) -> tuple[str, str]:
        md5, sha = self.finish_hashes()
        return md5.hexdigest(), sha.hexdigest()

    def finish_chain(self) -> Any:
        """Finish the SHA-256 and the writing, what a next range continues from; the MD5 may run on.
        Returns the SHA-256 object itself."""
        for lane in self._lanes[1:]:
            lane.stop()
        return self._sha

    def finish_hashes(self) -> tuple:
        """The hash objects themselves, once all is hashed and written."""
        try:
            for lane in self._lanes:
                lane.stop()
        finally:
            self._release()
        return self._md5, self._sha

    def abandon(self) -> None:
        """Stop every lane and wait for it, so nothing writes after the caller cleans up."""
        for lane in self._lanes:
            lane.stop(raising=False)
        self._release()

    def _release(self) -> None:
        ring, self._ring = self._ring, []
        for buffer in ring:
            _pieces.give(buffer)


def _fill(buffer: memoryview, stream, readinto) -> int:
    """Fill `buffer` from `stream` (readinto where there is one) until it is full or the stream ends."""
    got = 0
    while got < len(buffer):
        if readinto is not None:
            n = readinto(buffer[got:])
        else:
            data = stream.read(len(buffer) - got)
            n = len(data)
            buffer[got : got + n] = data
        if not n:
            break
        got += n
    return got


class _Lane:
    """One piece of work done on each piece, in order, on its own thread; `done` counts them."""

    def __init__(self, work: Callable[[Any], Any], done: threading.Condition) -> None:
        self.work = work
        self.error: BaseException | None = None
        self.done = 0
        self._done = done
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUED)
        self.thread = threading.Thread(target=self._run, name="upload-body", daemon=True)
        self.thread.start()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def _run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.work(chunk)
                except BaseException as exc:  # handed to the request thread at its next step
                    self.error = exc
            with self._done:
                self.done += 1
                self._done.notify_all()

    def put(self, chunk) -> None:
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
            os.close(fd)
            self._file = FileWriter(self.path)
            self._remove = _removed_with(self, self._file, self.path)
            self._file.write(self._memory.getbuffer())
            self._memory = None
        (self._memory if self._memory is not None else self._file).write(data)

    def body(self) -> Any:
        """The finished bytes as an object buffer: in memory, or a DiskBody with no open file."""
        if self._memory is not None:
            self._memory.seek(0)
            return self._memory
        self._file.finish()
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
    # S3's ETag, unquoted: a single body's MD5 in hex; for one built from parts (an Assembly),
    # the MD5 of the parts' MD5s with "-" and their count, as S3 gives a multipart object.
    etag: str
    sha256_hex: str

    def discard(self) -> None:
        self.spool.close()


def parts_etag(part_md5s: list[bytes]) -> str:
    """S3's ETag of an object made of parts with these MD5 digests (one part still says "-1")."""
    return f"{hashlib.md5(b''.join(part_md5s), usedforsecurity=False).hexdigest()}-{len(part_md5s)}"


class Assembly:
    """An object built from ranges that arrive in order (Adclear's chunks), on disk, hashed as they come.

    Each `append` is all or nothing: a range cut short leaves the file and the hashes as they
    were, so a client resumes from `size`. Each range counted is a part with an MD5 of its own,
    and the object's ETag is S3's multipart one (`parts_etag`), so a range's MD5 continues no
    earlier one: a range received whole counts at once, and its hashing runs on (the lanes
    run a few MiB behind the socket) while the next range arrives and is hashed beside it, on
    the other core. Only the SHA-256 of the whole, and the file, go on from one range to the
    next; the next `append` waits for those, which keep up with the socket. Before, a range
    waited for the last one's MD5 too: MD5, the pace-setter, stood still for a few ms a range.
    `staged()` waits for every part and hands the finished body to `commit`.
    """

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="upload-emulator-")
        os.close(fd)  # each range opens it to append (FileWriter); a DiskBody once complete
        self._remove = _removed_with(self, None, self._path)  # an upload abandoned mid-way
        self._sha = hashlib.sha256()
        self.size = 0
        self._last: _RangeEnd | None = None  # until its SHA-256 and its write are done
        self._parts: list[_RangeEnd] = []  # every range that added bytes, for its MD5

    def append(self, body, expected: int, skip: int = 0) -> None:
        """Take exactly `expected` bytes (a stream, or an iterable of bytes); the first `skip` of
        them are already held and dropped."""
        self._settle()
        writer = FileWriter(self._path, self.size)
        hasher = _BodyWorkers(writer.write, self._sha.copy())
        try:
            seen = hasher.take(body, skip)
            if seen != expected:
                raise BodyTooShort(f"received {seen} of {expected} bytes")
        except BaseException:
            hasher.abandon()
            writer.close()
            os.truncate(self._path, self.size)
            raise
        added = max(0, seen - skip)
        self._last = _RangeEnd(hasher, writer, began_at=self.size)
        self.size += added
        if added:
            self._parts.append(self._last)

    def _settle(self) -> None:
        """Wait for the last range's SHA-256 and writing; raise what failed in them, after
        taking that range back (it was counted when it arrived): the file and `size` go back
        to where it began, so a client resumes from there and nothing half-written stays."""
        if self._last is not None:
            last, self._last = self._last, None
            try:
                self._sha = last.chained()
            except BaseException:
                self.size = last.began_at
                self._parts = [part for part in self._parts if part is not last]
                with contextlib.suppress(OSError):
                    os.truncate(self._path, self.size)
                raise

    def staged(self) -> Staged:
        """The finished file, handed over: from here on the DiskBody owns (and removes) it."""
        self._settle()
        etag = parts_etag([part.md5() for part in self._parts])
        self._remove.detach()
        path, self._path = self._path, ""
        return Staged(DiskBody(path), self.size, etag, self._sha.hexdigest())

    def discard(self) -> None:
        """Drop the file; a part's MD5 still running touches only its own buffers, and ends by itself."""
        with contextlib.suppress(BaseException):
            self._settle()
        self._remove()
        self._path = ""


class _RangeEnd:
    """The last of a range's hashing and writing, on a thread of its own: first the SHA-256 and
    the write (`chained`), then the MD5 (`md5`). It holds the hashes and the writer, not the
    Assembly, which an abandoned upload must be free to let go."""

    def __init__(self, hasher: _BodyWorkers, writer: FileWriter, began_at: int) -> None:
        self.began_at = began_at  # the assembly's size before this range
        self._sha: Any = None
        self._digest = b""
        # Apart: a failed write takes the range back (`Assembly._settle`); a failed MD5 only fails staged().
        self._chain_error: BaseException | None = None
        self._md5_error: BaseException | None = None
        self._chain_done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(hasher, writer), name="upload-range", daemon=True)
        self._thread.start()

    def _run(self, hasher: _BodyWorkers, writer: FileWriter) -> None:
        try:
            self._sha = hasher.finish_chain()
            writer.finish()
        except BaseException as exc:  # raised by `chained`, in the next append, staged() or discard()
            hasher.abandon()
            writer.close()
            self._chain_error = self._md5_error = exc
            return
        finally:
            self._chain_done.set()
        try:
            self._digest = hasher.finish_hashes()[0].digest()
        except BaseException as exc:  # raised by `md5`, in staged()
            self._md5_error = exc

    def chained(self) -> Any:
        """The SHA-256 so far, once the range is hashed into it and written."""
        self._chain_done.wait()
        if self._chain_error is not None:
            raise self._chain_error
        return self._sha

    def md5(self) -> bytes:
        """The range's own MD5 digest, once it is done."""
        self._thread.join()
        if self._md5_error is not None:
            raise self._md5_error
        return self._digest


class BodyTooShort(Exception):
    """The client stopped sending before Content-Length bytes arrived."""


# Everything that means "the body did not arrive as framed": short, the client gone (cleanly or
# by a reset), or chunked framing the server could not decode (cheroot raises ValueError).
BODY_CUT_SHORT = (BodyTooShort, ClientDisconnected, ConnectionError, ValueError)


def stage(body, expected_size: int) -> Staged:
    """Spool and hash exactly `expected_size` bytes of `body` (a stream, or an iterable of bytes);
    BodyTooShort (or any error) leaves nothing."""
    spool = _Spool()
    hasher = _BodyWorkers(spool.write)
    try:
        size = hasher.take(body)
        md5_hex, sha256_hex = hasher.finish()
        if size != expected_size:
            raise BodyTooShort(f"received {size} of {expected_size} bytes")
        body = spool.body()
    except BaseException:
        hasher.abandon()
        spool.discard()
        raise
    return Staged(body, size, md5_hex, sha256_hex)

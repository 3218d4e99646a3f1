"""Appending a body to a file with direct I/O, where the file system and the disk make it pay.

Written through the page cache, every new GiB of an upload claims a GiB of memory. On a
virtual machine that hands freed memory back to its host (free page reporting, ballooning:
this project's machines do), the first touch of such memory costs the guest
about 2.5 s of kernel time per GiB, measured here against 0.2 s for a page just freed and
1.3 s for MD5 over the same bytes: the spool, not the hashing, set a large PUT's pace.
Direct I/O (O_DIRECT) writes from one reused, aligned buffer, so no new memory is touched and
the disk (or the host's cache) takes the bytes for about 0.1 s of CPU per GiB.

Where the file system refuses direct I/O (tmpfs before Linux 6.6, some FUSE and overlay
mounts), or the disk takes it slower than SLOW_DIRECT_RATE (where the page cache is the
better place for the bytes), writes go through the page cache, for that file from then on,
and for every later file of the process when the disk was the reason.
"""

from __future__ import annotations

import ctypes
import logging
import os
import time

from upload_emulator.buffers import BufferPool

log = logging.getLogger("upload_emulator.storage")

ALIGN = 4096  # offsets, lengths and the buffer's address, for direct I/O
BUFFER_BYTES = 4 * 1024 * 1024  # written in one call when full
SLOW_DIRECT_RATE = 400e6  # bytes/s: a disk slower than this for direct writes gets the page cache instead
MEASURED_BYTES = 64 * 1024 * 1024  # direct writes timed before the rate is judged

_direct_usable = hasattr(os, "O_DIRECT")  # until a disk proves too slow for it
_buffers = BufferPool(BUFFER_BYTES, keep=4)  # one per upload being written at once, kept (buffers.py)


class FileWriter:
    """Appends bytes to the file at `path` from `offset` (which need not be aligned); `finish`
    leaves the file exactly `offset` + the bytes written long, whatever lay past that before."""

    def __init__(self, path: str, offset: int = 0) -> None:
        self.path = path
        head = offset % ALIGN
        self._at = offset - head  # the file offset of the buffer's first byte
        self._fd = _open_direct(path) if _direct_usable else None
        self._buffer = _buffers.take() if self._fd is not None else None
        self._file = None if self._fd is not None else _open_cached(path, offset)
        self._fill = 0
        self._timed_bytes, self._timed_s = 0, 0.0
        if self._buffer is not None and head:  # a block begun on disk is written again, whole
            with open(path, "rb") as begun:
                begun.seek(self._at)
                self._buffer[:head] = begun.read(head).ljust(head, b"\0")
            self._fill = head

    @property
    def direct(self) -> bool:
        return self._fd is not None

    def write(self, data) -> None:
        view, taken = memoryview(data), 0
        if self._fill == 0 and self._buffer is not None and len(view) >= ALIGN and _aligned(view):
            whole = len(view) - len(view) % ALIGN  # a reused piece buffer (spool.py) goes out as it is
            try:
                self._put(view[:whole])
                taken = whole
            except OSError:  # refused after all (an alignment this file system wants): the page cache
                self._to_page_cache()
            self._judge_rate()
        while taken < len(view):
            if self._buffer is None:
                self._file.write(view[taken:])  # type: ignore[union-attr]
                return
            room = min(len(view) - taken, BUFFER_BYTES - self._fill)
            self._buffer[self._fill : self._fill + room] = view[taken : taken + room]
            self._fill += room
            taken += room
            if self._fill == BUFFER_BYTES:
                self._flush()

    def finish(self) -> None:
        """Write what is buffered and close; the file ends where the last byte written does."""
        if self._buffer is not None:
            end = self._at + self._fill
            padded = self._fill + (-self._fill % ALIGN)
            self._buffer[self._fill : padded] = bytes(padded - self._fill)
            if self._fill:
                with memoryview(self._buffer) as view:  # released before the buffer is closed
                    os.pwrite(self._fd, view[:padded], self._at)  # type: ignore[arg-type]
            os.ftruncate(self._fd, end)  # type: ignore[arg-type]
        elif self._file is not None:
            self._file.truncate()  # where the last write ended
        self.close()

    def close(self) -> None:
        """Close without writing what is buffered (an abandoned upload: its owner cuts the file back)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._buffer is not None:
            _buffers.give(self._buffer)
            self._buffer = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _flush(self) -> None:
        try:
            with memoryview(self._buffer) as view:  # type: ignore[arg-type]  # released before the buffer can close
                self._put(view)
            self._fill = 0
        except OSError:  # refused after all: the buffer goes to the page cache, and the rest after it
            self._to_page_cache()
        self._judge_rate()

    def _put(self, view: memoryview) -> None:
        started = time.perf_counter()
        os.pwrite(self._fd, view, self._at)  # type: ignore[arg-type]
        self._timed_s += time.perf_counter() - started
        self._timed_bytes += len(view)
        self._at += len(view)

    def _judge_rate(self) -> None:
        """Past MEASURED_BYTES, a disk slower than SLOW_DIRECT_RATE sends this file and every later
        one through the page cache."""
        if self._fd is None or self._timed_bytes < MEASURED_BYTES:
            return
        if self._timed_bytes >= SLOW_DIRECT_RATE * self._timed_s:
            return
        global _direct_usable
        _direct_usable = False
        log.warning(
            "direct writes to %s ran at %.0f MB/s: uploads go through the page cache from now on",
            os.path.dirname(self.path),
            self._timed_bytes / self._timed_s / 1e6,
        )
        self._to_page_cache()

    def _to_page_cache(self) -> None:
        """Go on through the page cache from where the direct writes stopped, what is buffered first."""
        pending = bytes(self._buffer[: self._fill]) if self._buffer is not None else b""
        self.close()
        self._file = _open_cached(self.path, self._at)
        self._file.write(pending)
        self._fill = 0


def _aligned(view: memoryview) -> bool:
    """Whether a view's memory starts on an ALIGN boundary, as direct I/O wants it."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(view)) % ALIGN == 0
    except (TypeError, ValueError):  # read-only (a bytes object's), or not contiguous
        return False


def _open_direct(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_DIRECT)
    except OSError:
        return None


def _open_cached(path: str, offset: int):
    file = open(path, "r+b")  # noqa: SIM115  # FileWriter.close closes it
    file.seek(offset)
    return file

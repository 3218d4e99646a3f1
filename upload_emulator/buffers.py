"""Page-aligned buffers, kept for the next body instead of freed.

A body's bytes pass through buffers the size of a piece (and a direct-I/O write). Memory new to
the process is what costs on these machines (`filewriter.py`: ~2.5 s of kernel time per GiB
touched the first time), and a freed buffer's pages go back to the system; so buffers done
with are kept, a few of each size, for the next upload to fill. mmap gives page alignment,
which direct I/O needs.
"""

from __future__ import annotations

import contextlib
import mmap
import threading


class BufferPool:
    """Buffers of one size: `take` a kept one (or a new one), `give` it back when done."""

    def __init__(self, size: int, keep: int) -> None:
        self.size = size
        self.keep = keep
        self._kept: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        with self._lock:
            if self._kept:
                return self._kept.pop()
        return mmap.mmap(-1, self.size)

    def give(self, buffer: mmap.mmap) -> None:
        with self._lock:
            if len(self._kept) < self.keep:
                self._kept.append(buffer)
                return
        with contextlib.suppress(BufferError):  # a view of it is still about (a lane's last piece): freed with it
            buffer.close()

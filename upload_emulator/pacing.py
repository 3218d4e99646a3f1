"""Which of a body's lanes sets its pace, and a lower scheduling priority for the others.

A large PUT has more busy threads than these machines have cores: MD5 (the slowest lane, it
wants a core to itself), SHA-256, the spool writer, the thread reading the socket, and the
client. The kernel shares time among them evenly, so MD5 lost about a sixth of its time
to lanes that had time to spare, and the whole upload waited for MD5. A lane that is not
the slowest now runs at a lower priority (Linux gives every thread a nice value of its
own), so it takes the time the slowest leaves and still finishes in its shadow. Measured
(bench/README.md), medians of six interleaved runs: a 1 GiB PUT 0.83 -> 0.86x MD5, the
same in 50 MiB chunks 0.74 -> 0.82x.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import threading
import time

LOWERED_BY = 10  # nice steps; the kernel gives a thread about a tenth of the time of one at nice 0
NICEST = 19
_SAMPLE = bytes(256 * 1024)


@functools.cache
def slowest_hash() -> str:
    """The slower of "md5" and "sha256" on this CPU, timed once per process (about a millisecond).
    With the CPU's SHA instructions SHA-256 runs twice as fast as MD5; without them it is the
    slower, and then it is the lane to leave at full priority."""
    return slower({name: _fastest_of_three(name) for name in ("md5", "sha256")})


def slower(seconds: dict[str, float]) -> str:
    return max(seconds, key=seconds.__getitem__)


def _fastest_of_three(name: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        hashlib.new(name, _SAMPLE, usedforsecurity=False).digest()
        best = min(best, time.perf_counter() - started)
    return best


def lower_this_thread() -> None:
    """Lower the calling thread's priority by LOWERED_BY from where it is. Nothing happens where
    threads have no nice value of their own (on other systems the call would lower the whole
    process) or where the system refuses."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(NICEST, os.getpriority(os.PRIO_PROCESS, thread) + LOWERED_BY))

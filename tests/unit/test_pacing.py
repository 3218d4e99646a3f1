"""A body's lanes: the slowest keeps its priority, the others yield to it (pacing.py)."""

from __future__ import annotations

import hashlib
import os
import sys
import threading

import pytest

import upload_emulator.spool as spool
from upload_emulator import pacing

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="threads have a nice value of their own on Linux")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _priorities_seen(monkeypatch, slowest: str) -> dict[str, int]:
    """Each lane's nice value, as the lane itself saw it while working on a piece."""
    monkeypatch.setattr(spool, "slowest_hash", lambda: slowest)
    seen: dict[str, int] = {}

    class Watched:
        def __init__(self, name: str) -> None:
            self.name, self.inner = name, hashlib.new(name)

        def update(self, data) -> None:
            seen[self.name] = _nice()
            self.inner.update(data)

        def copy(self):
            return self.inner.copy()

    def write(data) -> None:
        seen["write"] = _nice()

    workers = spool._BodyWorkers(write, Watched("md5"), Watched("sha256"))
    workers.feed(b"x" * 4096)
    workers.finish_hashes()
    return seen


@linux_only
def test_when_md5_is_the_slower_hash_sha256_and_the_writer_run_at_a_lower_priority(monkeypatch):
    base = _nice()
    seen = _priorities_seen(monkeypatch, "md5")
    assert seen["md5"] == base
    assert seen["sha256"] == seen["write"] == min(pacing.NICEST, base + pacing.LOWERED_BY)


@linux_only
def test_when_sha256_is_the_slower_hash_it_keeps_full_priority_and_md5_yields(monkeypatch):
    base = _nice()
    seen = _priorities_seen(monkeypatch, "sha256")
    assert seen["sha256"] == base
    assert seen["md5"] == seen["write"] == min(pacing.NICEST, base + pacing.LOWERED_BY)


@linux_only
def test_a_thread_is_lowered_from_where_it_stands_and_never_past_the_lowest_priority():
    seen: list[int] = []

    def lowered_from(start: int) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), start)
        pacing.lower_this_thread()
        seen.append(_nice())

    for start in (15, 3):
        thread = threading.Thread(target=lowered_from, args=(start,))
        thread.start()
        thread.join()
    assert seen == [pacing.NICEST, 3 + pacing.LOWERED_BY]


@linux_only
def test_lowering_a_lane_leaves_the_thread_that_started_it_and_the_process_as_they_were():
    base = _nice()
    workers = spool._BodyWorkers(lambda data: None)
    workers.feed(b"x" * 4096)
    workers.finish()
    assert _nice() == base
    assert os.getpriority(os.PRIO_PROCESS, 0) == base


def test_a_system_that_refuses_to_change_priorities_still_stores_the_body_whole(monkeypatch):
    def refused(*args):
        raise PermissionError("not allowed")

    monkeypatch.setattr(os, "setpriority", refused)
    data = os.urandom(3 * spool.PIECE_BYTES + 11)
    staged = spool.stage([data[i : i + 65536] for i in range(0, len(data), 65536)], len(data))
    try:
        assert staged.md5_hex == hashlib.md5(data).hexdigest()
        assert staged.sha256_hex == hashlib.sha256(data).hexdigest()
        staged.spool.seek(0)
        assert staged.spool.read() == data
    finally:
        staged.discard()


def test_on_a_system_without_per_thread_priorities_nothing_is_changed(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(os, "setpriority", lambda *args: calls.append(args), raising=False)
    pacing.lower_this_thread()
    assert calls == []  # there, PRIO_PROCESS with a thread's id would name a process instead


def test_the_slower_hash_is_the_one_that_took_longer():
    assert pacing.slower({"md5": 0.0013, "sha256": 0.0006}) == "md5"
    assert pacing.slower({"md5": 0.0013, "sha256": 0.0025}) == "sha256"


def test_the_slowest_hash_is_timed_once_per_process_and_is_md5_or_sha256():
    first = pacing.slowest_hash()
    assert first in {"md5", "sha256"}
    assert pacing.slowest_hash() is first
    assert pacing.slowest_hash.cache_info().misses <= 1

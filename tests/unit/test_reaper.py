"""The reaper frees what a reset let go of, on its own thread and a batch at a time."""

from __future__ import annotations

import threading

from upload_emulator.reaper import Reaper, empty


def test_queued_work_runs_and_garbage_is_emptied_on_the_reapers_thread():
    reaper = Reaper()
    ran_on: list[int] = []
    records = {n: object() for n in range(1000)}
    seen = {n for n in range(700)}
    reaper.later(lambda: ran_on.append(threading.get_ident()), records, seen)
    reaper.close()  # finishes what is queued
    assert ran_on and ran_on[0] != threading.get_ident()
    assert records == {} and seen == set()


def test_a_reaper_that_was_never_used_starts_no_thread_and_closes_at_once():
    before = threading.active_count()
    reaper = Reaper()
    reaper.close()
    assert threading.active_count() == before


def test_empty_takes_dicts_and_sets_apart_and_leaves_anything_else():
    items, names, frozen = {"a": 1, "b": 2}, {"x"}, (1, 2)
    for container in (items, names, frozen):
        empty(container)
    assert items == {} and names == set() and frozen == (1, 2)

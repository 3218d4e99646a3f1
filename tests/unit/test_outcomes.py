"""Outcome rules: matched by vendor, kind and attributes; exact counts, like faults."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from upload_emulator.services.outcomes import OutcomeStore


def test_a_rule_matches_its_vendor_kind_and_every_attribute_it_names():
    store = OutcomeStore()
    rule = store.add(vendor="ctxfy", kind="source", result="FAILED", match={"type": "FILE"})
    assert store.take("ctxfy", "source", {"type": "URI"}) is None
    assert store.take("scripe", "source", {"type": "FILE"}) is None
    assert store.take("ctxfy", "job", {"type": "FILE"}) is None
    assert store.take("ctxfy", "source", {"type": "FILE", "name": "x"}) is rule
    assert rule.as_json()["fired"] == 1 and rule.as_json()["remaining"] is None


def test_times_is_exact_even_when_work_races():
    store = OutcomeStore()
    rule = store.add(vendor="ctxfy", kind="source", result="CANCELED", times=3)
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda _: store.take("ctxfy", "source", {}), range(50)))
    assert sum(t is not None for t in taken) == 3
    assert rule.as_json()["remaining"] == 0


def test_rules_can_be_listed_removed_and_cleared():
    store = OutcomeStore()
    first = store.add(vendor="ctxfy", kind="source", result="FAILED")
    store.add(vendor="ctxfy", kind="source", result="CANCELED")
    assert store.remove(first.id) and not store.remove(first.id)
    assert [r.result for r in store.all()] == ["CANCELED"]
    store.clear()
    assert store.all() == []

"""The idempotency store on its own: replay, conflict, window, and one execution per key."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from upload_emulator.services.idempotency import Conflict, IdempotencyStore, StoredReply, body_hash

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REPLY = StoredReply(200, b'{"ok":true}', "application/json", {})


def test_body_hash_ignores_key_order_but_not_values():
    assert body_hash({"a": 1, "b": 2}) == body_hash({"b": 2, "a": 1})
    assert body_hash({"a": 1}) != body_hash({"a": "1"})


def test_a_finished_request_is_replayed_and_a_different_body_conflicts():
    store = IdempotencyStore()
    entry = store.begin(("s", "ws", "op", "k"), "h1", NOW, 86400)
    store.finish(("s", "ws", "op", "k"), entry, REPLY)
    assert store.begin(("s", "ws", "op", "k"), "h1", NOW, 86400) == REPLY
    with pytest.raises(Conflict):
        store.begin(("s", "ws", "op", "k"), "h2", NOW, 86400)


def test_an_unstored_reply_frees_the_key_for_a_retry():
    store = IdempotencyStore()
    entry = store.begin(("k",), "h", NOW, 86400)
    store.finish(("k",), entry, None)
    assert not isinstance(store.begin(("k",), "h", NOW, 86400), StoredReply)


def test_entries_expire_after_the_window():
    store = IdempotencyStore()
    entry = store.begin(("k",), "h", NOW, 60)
    store.finish(("k",), entry, REPLY)
    assert not isinstance(store.begin(("k",), "other", NOW + timedelta(seconds=60), 60), StoredReply)


def test_a_concurrent_duplicate_waits_for_the_first_and_replays_it():
    store = IdempotencyStore()
    first = store.begin(("k",), "h", NOW, 86400)
    seen = []
    waiter = threading.Thread(target=lambda: seen.append(store.begin(("k",), "h", NOW, 86400)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # still waiting on the first request
    store.finish(("k",), first, REPLY)
    waiter.join(5)
    assert seen == [REPLY]

"""Outbound callbacks: sent when due on the emulator's clock, retried with backoff, bounded, recorded."""

from __future__ import annotations

from datetime import timedelta

from upload_emulator.core.clock import Clock
from upload_emulator.services.callbacks import BACKOFF_S, CallbackDispatcher, is_loopback_host


def frozen_clock() -> Clock:
    clock = Clock()
    clock.freeze()
    return clock


def test_a_callback_waits_until_it_is_due_on_the_emulators_clock():
    clock, sent = frozen_clock(), []
    dispatcher = CallbackDispatcher(clock, send=lambda url, body: sent.append((url, body)) or 200)
    dispatcher.schedule(
        "ctxfy", "source.completed", "http://127.0.0.1:9/hook", {"id": "s1"}, clock.now() + timedelta(seconds=5)
    )
    assert dispatcher.run_due() == 0 and sent == []
    clock.advance(5)
    assert dispatcher.run_due() == 1
    assert sent == [("http://127.0.0.1:9/hook", {"id": "s1"})]
    [delivery] = dispatcher.all()
    assert delivery.status == "delivered" and delivery.attempts[0]["status"] == 200
    dispatcher.close()


def test_a_failing_listener_is_retried_with_backoff_then_given_up_on():
    clock, answers = frozen_clock(), []

    def refuse(url, body):
        answers.append(url)
        return 503

    dispatcher = CallbackDispatcher(clock, send=refuse)
    delivery = dispatcher.schedule("ctxfy", "e", "http://localhost:9/hook", {}, clock.now())
    for wait in (0, *BACKOFF_S):
        clock.advance(wait)
        assert dispatcher.run_due() == 1
        assert dispatcher.run_due() == 0  # the next try waits for its backoff
    assert delivery.status == "failed"
    assert [a["status"] for a in delivery.attempts] == [503] * (len(BACKOFF_S) + 1)
    clock.advance(3600)
    assert dispatcher.run_due() == 0 and len(answers) == len(BACKOFF_S) + 1
    dispatcher.close()


def test_a_connection_error_counts_as_a_failed_attempt_with_the_reason():
    clock = frozen_clock()

    def unreachable(url, body):
        raise ConnectionRefusedError(111, "Connection refused")

    dispatcher = CallbackDispatcher(clock, send=unreachable)
    delivery = dispatcher.schedule("ctxfy", "e", "http://127.0.0.1:9/hook", {}, clock.now())
    dispatcher.run_due()
    assert delivery.status == "retrying"
    assert "Connection refused" in delivery.attempts[0]["error"]
    dispatcher.close()


def test_nothing_is_sent_off_this_machine():
    clock, sent = frozen_clock(), []
    dispatcher = CallbackDispatcher(clock, send=lambda url, body: sent.append(url) or 200)
    delivery = dispatcher.schedule("ctxfy", "e", "https://hooks.example.com/x", {}, clock.now())
    assert dispatcher.run_due() == 0 and sent == []
    assert delivery.status == "not_sent"
    assert [is_loopback_host(h) for h in ("127.0.0.1", "127.9.9.9", "[::1]", "localhost", "10.0.0.1", None)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    dispatcher.close()


def test_reset_forgets_every_delivery():
    clock = frozen_clock()
    dispatcher = CallbackDispatcher(clock, send=lambda url, body: 200)
    dispatcher.schedule("ctxfy", "e", "http://127.0.0.1:9/", {}, clock.now() + timedelta(seconds=60))
    dispatcher.reset()
    assert dispatcher.all() == []
    dispatcher.close()

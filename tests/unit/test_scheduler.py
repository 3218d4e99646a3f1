"""Scheduled effects run once, in time order, when the clock has reached them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from upload_emulator.services.scheduler import Scheduler

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_effects_run_once_in_time_order_when_due():
    ran: list[str] = []
    scheduler = Scheduler()
    scheduler.at(T0 + timedelta(seconds=5), lambda: ran.append("late"))
    scheduler.at(T0 + timedelta(seconds=1), lambda: ran.append("early"))
    assert scheduler.run_due(T0) == 0
    assert scheduler.run_due(T0 + timedelta(seconds=10)) == 2
    assert ran == ["early", "late"]
    assert scheduler.run_due(T0 + timedelta(seconds=20)) == 0


def test_a_failing_effect_does_not_stop_the_others(caplog):
    ran: list[str] = []
    scheduler = Scheduler()
    scheduler.at(T0, lambda: 1 / 0)
    scheduler.at(T0, lambda: ran.append("after"))
    assert scheduler.run_due(T0) == 2 and ran == ["after"]
    assert "a scheduled effect failed" in caplog.text


def test_reset_drops_what_was_scheduled():
    scheduler = Scheduler()
    scheduler.at(T0, lambda: None)
    scheduler.reset()
    assert len(scheduler) == 0 and scheduler.run_due(T0) == 0

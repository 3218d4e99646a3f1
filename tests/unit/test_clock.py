from datetime import timedelta

import pytest

from upload_emulator.core.clock import Clock, isoformat, parse_iso


def test_advancing_moves_now_forward_by_that_many_seconds():
    clock = Clock()
    frozen = clock.freeze()
    assert clock.advance(901) - frozen == timedelta(seconds=901)


def test_a_frozen_clock_does_not_move_on_its_own():
    clock = Clock()
    frozen = clock.freeze()
    assert clock.now() == frozen
    assert clock.is_frozen


def test_unfreezing_keeps_the_time_reached_and_lets_it_run():
    clock = Clock()
    clock.freeze()
    target = clock.advance(3600)
    resumed = clock.unfreeze()
    assert not clock.is_frozen
    assert timedelta(0) <= resumed - target < timedelta(seconds=1)


def test_the_clock_never_moves_backward():
    with pytest.raises(ValueError):
        Clock().advance(-1)


def test_reset_returns_to_real_time():
    clock = Clock()
    real = clock.now()
    clock.advance(86400)
    clock.reset()
    assert clock.now() - real < timedelta(seconds=5)


def test_isoformat_is_utc_with_milliseconds_and_z():
    moment = parse_iso("2026-05-15T08:36:00.123456Z")
    assert isoformat(moment) == "2026-05-15T08:36:00.123Z"


@pytest.mark.parametrize("seed", range(5))
def test_isoformat_writes_what_the_strftime_recipe_wrote_in_any_zone(seed):
    import random
    from datetime import UTC, datetime, timezone

    rng = random.Random(seed)
    for _ in range(200):
        zone = timezone(timedelta(minutes=rng.randint(-14 * 60, 14 * 60)))
        moment = datetime(rng.randint(1000, 9998), 1, 1, tzinfo=zone) + timedelta(
            seconds=rng.randint(0, 364 * 86400), microseconds=rng.randint(0, 999_999)
        )
        utc = moment.astimezone(UTC)
        assert isoformat(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

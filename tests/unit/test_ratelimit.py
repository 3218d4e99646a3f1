from datetime import UTC, datetime, timedelta

from upload_emulator.core.profiles import RateLimitProfile
from upload_emulator.services.ratelimit import RateLimiter, headers_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_caller_gets_limit_requests_per_window_then_is_refused_until_it_resets():
    limiter = RateLimiter()
    verdicts = [limiter.charge(("a",), 3, 60, NOW + timedelta(seconds=n)) for n in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[-1].reset_s == 57
    assert limiter.charge(("a",), 3, 60, NOW + timedelta(seconds=60)).allowed


def test_callers_have_separate_budgets():
    limiter = RateLimiter()
    for _ in range(3):
        limiter.charge(("a",), 3, 60, NOW)
    assert limiter.charge(("b",), 3, 60, NOW).allowed
    assert not limiter.charge(("a",), 3, 60, NOW).allowed


def test_ietf_headers_state_limit_remaining_reset_and_policy():
    verdict = RateLimiter().charge(("a",), 600, 60, NOW)
    headers = headers_for(RateLimitProfile(limit=600, window_s=60), 600, verdict)
    assert headers == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "599",
        "RateLimit-Reset": "60",
        "RateLimit": "limit=600, remaining=599, reset=60",
        "RateLimit-Policy": "600;w=60",
    }


def test_windows_of_callers_long_gone_are_dropped_so_memory_stays_bounded():
    limiter = RateLimiter(max_windows=100)
    for n in range(100):
        limiter.charge((f"old-{n}",), 3, 60, NOW)
    later = NOW + timedelta(seconds=61)
    for n in range(50):
        limiter.charge((f"new-{n}",), 3, 60, later)
    assert len(limiter) == 50


def test_x_headers_carry_the_limit_that_applied():
    verdict = RateLimiter().charge(("a",), 10, 60, NOW)
    headers = headers_for(RateLimitProfile(limit=None, headers="x"), 10, verdict)
    assert headers == {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9", "X-RateLimit-Reset": "60"}


def test_a_plan_or_an_operation_may_have_a_budget_of_its_own_or_none():
    rules = RateLimitProfile(limit=5, plans={"FREE": 10, "PRO": 100}, operations={"initiate": 30, "chunk": None})
    assert rules.budget("anything", "FREE") == (10, "*")
    assert rules.budget("anything", "PRO") == (100, "*")
    assert rules.budget("anything", None) == (5, "*")
    assert rules.budget("initiate", "FREE") == (30, "initiate")
    assert rules.budget("chunk", "PRO") == (None, "chunk")

"""Rules a test sets up that fire an exact number of times: faults and async outcomes share this.

Taking a rule is atomic, so a rule with `times: n` fires exactly n times even when requests
race; one without `times` fires until it is removed. Rules are tried in the order they were
added; the first that matches and has uses left wins.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class CountedRule(Protocol):
    id: str
    times: int | None
    fired: int


R = TypeVar("R", bound=CountedRule)


class RuleBook(Generic[R]):
    def __init__(self, make: Callable[..., R], id_prefix: str) -> None:
        self._make = make
        self._prefix = id_prefix
        self._lock = threading.Lock()
        self._rules: list[R] = []

    def add(self, **fields) -> R:
        rule = self._make(id=self._prefix + secrets.token_hex(6), **fields)
        with self._lock:
            self._rules.append(rule)
        return rule

    def all(self) -> list[R]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [r for r in self._rules if r.id != rule_id]
            removed, self._rules = len(kept) != len(self._rules), kept
        return removed

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take_first(self, applies: Callable[[R], bool]) -> R | None:
        """The first rule with uses left for which `applies` is true, counted as used (atomically)."""
        with self._lock:
            for rule in self._rules:
                if (rule.times is None or rule.fired < rule.times) and applies(rule):
                    rule.fired += 1
                    return rule
        return None

"""Decided-ahead results for vendors' async work (a job that fails, a source that is cancelled).

A rule names a vendor, a kind of work (`job`, `source`, `upload`, …) and optional
attributes to match (`{"type": "FILE"}`); the next matching piece of work ends as the rule
says. Like faults, a rule with `times: n` is taken exactly n times, even when requests
race, and one without `times` applies until it is removed.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutcomeRule:
    id: str
    vendor: str
    kind: str
    result: str
    match: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    times: int | None = None  # None: every match, until removed
    fired: int = 0

    def matches(self, vendor: str, kind: str, attributes: dict[str, Any]) -> bool:
        return (
            self.vendor == vendor
            and self.kind == kind
            and all(attributes.get(name) == value for name, value in self.match.items())
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "kind": self.kind,
            "match": dict(self.match),
            "result": self.result,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "times": self.times,
            "fired": self.fired,
            "remaining": None if self.times is None else max(0, self.times - self.fired),
        }


class OutcomeStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[OutcomeRule] = []

    def add(self, **fields: Any) -> OutcomeRule:
        rule = OutcomeRule(id="out_" + secrets.token_hex(6), **fields)
        with self._lock:
            self._rules.append(rule)
        return rule

    def all(self) -> list[OutcomeRule]:
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

    def take(self, vendor: str, kind: str, attributes: dict[str, Any]) -> OutcomeRule | None:
        """The first rule that matches and has uses left, counted as used (atomically)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(vendor, kind, attributes) and (rule.times is None or rule.fired < rule.times):
                    rule.fired += 1
                    return rule
        return None

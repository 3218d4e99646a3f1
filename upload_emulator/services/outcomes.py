"""Decided-ahead results for vendors' async work (a job that fails, a source that is cancelled).

A rule names a vendor, a kind of work (`job`, `source`, `upload`, …) and optional
attributes to match (`{"type": "FILE"}`); the next matching piece of work ends as the rule
says. Like faults, a rule with `times: n` is taken exactly n times, even when requests
race, and one without `times` applies until it is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from upload_emulator.services.rules import RuleBook


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


class OutcomeStore(RuleBook[OutcomeRule]):
    def __init__(self) -> None:
        super().__init__(OutcomeRule, "out_")

    def take(self, vendor: str, kind: str, attributes: dict[str, Any]) -> OutcomeRule | None:
        """The first rule that matches and has uses left, counted as used (atomically)."""
        return self.take_first(lambda rule: rule.matches(vendor, kind, attributes))

"""Injected failures: make matching requests fail, slow down, or (S3) drop the connection.

A rule matches by vendor ("s3" for the S3 endpoint), and optionally operationId and path
prefix; `probability` makes it fire on a share of the matches. Exact counts under races and
first-match order come from `rulebook.RuleBook`, which outcome rules share.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from upload_emulator.core import errors
from upload_emulator.core.errors import ErrorKind
from upload_emulator.core.profiles import VendorProfile
from upload_emulator.services.rules import RuleBook

S3 = "s3"
MAX_DELAY_MS = 30_000
S3_CODES_BY_STATUS = {
    400: "InvalidRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    500: "InternalError",
    501: "NotImplemented",
    503: "SlowDown",
}


@dataclass
class FaultRule:
    id: str
    vendor: str
    operation_id: str | None = None
    path: str | None = None
    status: int | None = None
    code: str | None = None
    times: int | None = None  # None: every match, until removed
    delay_ms: int = 0
    probability: float = 1.0
    close_after_bytes: int | None = None
    fired: int = 0

    def matches(self, vendor: str, operation_id: str | None, path: str) -> bool:
        return (
            self.vendor == vendor
            and self.operation_id in (None, operation_id)
            and (self.path is None or path.startswith(self.path))
        )

    def as_json(self) -> dict:
        raw = asdict(self)
        return {
            "id": raw["id"],
            "vendor": raw["vendor"],
            "operationId": raw["operation_id"],
            "path": raw["path"],
            "status": raw["status"],
            "code": raw["code"],
            "times": raw["times"],
            "fired": raw["fired"],
            "remaining": None if self.times is None else max(0, self.times - self.fired),
            "delayMs": raw["delay_ms"],
            "probability": raw["probability"],
            "closeAfterBytes": raw["close_after_bytes"],
        }


class FaultStore(RuleBook[FaultRule]):
    def __init__(self, seed: int | None = None) -> None:
        super().__init__(FaultRule, "flt_")
        self._random = random.Random(seed)

    def take(self, vendor: str, operation_id: str | None, path: str) -> FaultRule | None:
        """The rule that fires for this request, counted; None when none does."""

        def fires(rule: FaultRule) -> bool:
            if not rule.matches(vendor, operation_id, path):
                return False
            return rule.probability >= 1 or self._random.random() < rule.probability

        return self.take_first(fires)


def kind_for_status(profile: VendorProfile | None, status: int) -> ErrorKind:
    """The error kind a vendor answers with at `status` (its own mapping first)."""
    if profile is not None:
        for name, mapping in profile.error_map.items():
            if mapping.status == status:
                return getattr(errors, name)
    for value in vars(errors).values():
        if isinstance(value, ErrorKind) and value.status == status and not value.name.startswith(("S3_", "NO_SUCH")):
            return value
    return errors.INTERNAL

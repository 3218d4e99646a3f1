"""What differs between the vendor's recorded answer and the emulator's, field by field.

Values that differ on every run (ids, timestamps, request ids, signatures, URLs) are compared
by their shape: the same kind of value (a UUID, an ISO 8601 time, a URL, an id with the same
prefix), not the same value. Everything else must be equal. Documented headers are compared
by presence (and, for a replay marker, value)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Headers a vendor documents whose presence a client relies on.
WATCHED_HEADERS = (
    "location",
    "retry-after",
    "x-request-id",
    "idempotent-replayed",
    "idempotency-replayed",
    "ratelimit",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
)
VALUE_HEADERS = ("idempotent-replayed", "idempotency-replayed")
# Fields that hold sentences for people (error messages), compared as "a string" only.
PROSE = {"message", "detail", "description", "hint"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_PREFIXED = re.compile(r"^([A-Za-z][A-Za-z0-9]*[_-])[A-Za-z0-9_-]{6,}$")
_OPAQUE = re.compile(r"^[A-Za-z0-9+/=_-]{16,}$")


@dataclass(frozen=True)
class Drift:
    where: str  # "status", "header X", "body.data.id", …
    recorded: Any
    emulated: Any

    def __str__(self) -> str:
        return f"{self.where}: vendor {self.recorded!r}, emulator {self.emulated!r}"


def shape(value: str, field: str) -> str | None:
    """The kind of a value that changes on every run, or None for one compared as it is."""
    if value.startswith(("http://", "https://", "/")) and ("/" in value[1:] or "?" in value):
        return "url"
    if value.startswith("redacted:"):
        return "secret"
    if _UUID.match(value):
        return "uuid"
    if _TIME.match(value):
        return "time"
    named_id = field.lower().endswith("id") or field.lower() in ("cursor", "next", "etag", "key", "filekey")
    prefixed = _PREFIXED.match(value)
    if prefixed and (named_id or any(c.isdigit() for c in value)):
        return "id " + prefixed.group(1)
    if named_id or (field.lower() in ("cursor", "nextcursor") and _OPAQUE.match(value)):
        return "id"
    return None


def bodies(recorded: Any, emulated: Any, where: str = "body", field: str = "") -> list[Drift]:
    if isinstance(recorded, dict) and isinstance(emulated, dict):
        found = []
        for name in sorted(recorded.keys() | emulated.keys()):
            here = f"{where}.{name}"
            if name not in emulated:
                found.append(Drift(here, recorded[name], "(absent)"))
            elif name not in recorded:
                found.append(Drift(here, "(absent)", emulated[name]))
            else:
                found += bodies(recorded[name], emulated[name], here, name)
        return found
    if isinstance(recorded, list) and isinstance(emulated, list):
        if len(recorded) != len(emulated):
            return [Drift(f"{where} (length)", len(recorded), len(emulated))]
        return [
            d
            for n, (a, b) in enumerate(zip(recorded, emulated, strict=True))
            for d in bodies(a, b, f"{where}[{n}]", field)
        ]
    if isinstance(recorded, str) and isinstance(emulated, str):
        if field.lower() in PROSE:
            return []  # words for people: each vendor's own, never the emulator's
        kinds = shape(recorded, field), shape(emulated, field)
        if kinds[0] is not None or kinds[1] is not None:
            return [] if kinds[0] == kinds[1] else [Drift(where, recorded, emulated)]
    if type(recorded) is not type(emulated) or (recorded != emulated and not _same_number(recorded, emulated, field)):
        return [Drift(where, recorded, emulated)]
    return []


def _same_number(a: Any, b: Any, field: str) -> bool:
    """Counts that move with the clock (rate-limit budgets, seconds left) are compared by kind."""
    moving = ("remaining", "reset", "retry", "expires", "ttl", "seconds")
    # The size of what a client PUT to the vendor's storage: a recording cannot show that PUT.
    uploaded = field.lower() in ("size", "filesize")
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return numbers and (uploaded or any(m in field.lower() for m in moving))


def headers(recorded: dict[str, str], emulated: dict[str, str]) -> list[Drift]:
    found = []
    for name in WATCHED_HEADERS:
        if (name in recorded) != (name in emulated):
            found.append(Drift(f"header {name}", recorded.get(name, "(absent)"), emulated.get(name, "(absent)")))
        elif name in VALUE_HEADERS and name in recorded and recorded[name] != emulated[name]:
            found.append(Drift(f"header {name}", recorded[name], emulated[name]))
    return found


def pairs_of_values(recorded: Any, emulated: Any) -> list[tuple[str, str]]:
    """(recorded, emulated) for each changing value at the same place in both bodies: what a later
    request that uses a recorded id must use of the emulator's instead."""
    if isinstance(recorded, dict) and isinstance(emulated, dict):
        return [p for k in recorded.keys() & emulated.keys() for p in _pairs_at(recorded[k], emulated[k], k)]
    if isinstance(recorded, list) and isinstance(emulated, list):
        return [p for a, b in zip(recorded, emulated, strict=False) for p in pairs_of_values(a, b)]
    return []


def _pairs_at(recorded: Any, emulated: Any, field: str) -> list[tuple[str, str]]:
    if isinstance(recorded, str) and isinstance(emulated, str):
        kind = shape(recorded, field)
        return [(recorded, emulated)] if kind and kind != "secret" and recorded != emulated else []
    return pairs_of_values(recorded, emulated)

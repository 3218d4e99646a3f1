"""A fixture's settings held to their schema before anything is built from them.

Each vendor's spec states, as `x-emulator-settings`, the JSON Schema of its fixture's
`profile.settings`; the profile's `rate_limit` has one shape for every vendor (below). A
value that breaks either — from the shipped fixture, a `--fixtures` directory or a `--set`
— stops start-up with one line: where it came from, the key, the value, what is allowed.
jsonschema-rs checks (it imports in a millisecond; jsonschema would be a sixth of start-up).
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

SPEC_KEY = "x-emulator-settings"

_BUDGET = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "description": "a whole number ≥ 1, or null"}
RATE_LIMIT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["limit"],
    "properties": {
        "limit": _BUDGET,
        "window_s": {"type": "integer", "minimum": 1, "description": "whole seconds ≥ 1"},
        "headers": {"enum": ["ietf", "x", "none"]},
        "per": {"enum": ["credential", "workspace"]},
        "plans": {"type": "object", "additionalProperties": _BUDGET},
        "operations": {"type": "object", "additionalProperties": _BUDGET},
    },
}


class FixtureSettingsError(ValueError):
    """A fixture setting that breaks its schema. `origin` is "override" (a `--set`, whose own
    source the CLI knows) or the fixture file; `str()` reads as one line either way."""

    def __init__(self, vendor: str, key: str, value: Any, allowed: str, origin: str) -> None:
        self.vendor, self.key, self.value, self.allowed, self.origin = vendor, key, value, allowed, origin
        super().__init__(self.line("--set" if origin == "override" else origin))

    def line(self, where: str) -> str:
        return f"{where}: {self.vendor}.{self.key} = {self.value!r} is not allowed: {self.allowed}"


def check(vendor: str, profile: dict, settings_schema: dict | None, overridden: set[str], origin: str) -> None:
    """Raise FixtureSettingsError for the first value of `profile` its schema refuses.

    `overridden` holds the dotted keys a `--set` wrote (`jobs.queued_s`, `rate_limit.limit`):
    an error there names the override as its origin, any other the fixture file.
    """
    checks: list[tuple[str, dict, Any]] = []
    if profile.get("rate_limit") is not None:
        checks.append(("rate_limit", RATE_LIMIT, profile["rate_limit"]))
    if settings_schema is not None:
        checks.append(("", settings_schema, profile.get("settings") or {}))
    for prefix, schema, instance in checks:
        for error in jsonschema_rs.validator_for(schema).iter_errors(instance):
            key = ".".join([prefix] * bool(prefix) + [str(p) for p in error.instance_path]) or "settings"
            allowed = _description(schema, list(error.schema_path)) or error.message
            touched = any(key == o or key.startswith(o + ".") or o.startswith(key + ".") for o in overridden)
            raise FixtureSettingsError(vendor, key, error.instance, allowed, "override" if touched else origin)


def _description(schema: dict, schema_path: list) -> str | None:
    """The `description` nearest the failed keyword: what the value may be, in words."""
    node: Any = schema
    found = None
    for part in schema_path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("description"), str):
            found = node["description"]
    return found

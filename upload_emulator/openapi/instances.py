"""One instance against one compiled schema, with the first error as the vendors word it; and JSON
decoded as the vendors' servers decode it (no NaN or Infinity)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from upload_emulator.openapi.schemas import Compiled

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


class RequestInvalid(Exception):
    """A request that does not match the spec; `keyword` is the failing jsonschema keyword.

    `in_body` tells a body field from a parameter: some vendors answer a body's range errors
    as business rules (422) but any bad parameter as a malformed request (400).
    """

    def __init__(
        self,
        message: str,
        field: str | None = None,
        keyword: str = "type",
        in_body: bool = True,
        problems: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.keyword = keyword
        self.in_body = in_body
        # Every offending (field, message), the best match first: some vendors list them all.
        if not problems and field:
            problems = ((field, message),)
        self.problems = problems


def _describe(error: ValidationError) -> tuple[str, str | None]:
    """A message that names the offending field, and the field's dotted path."""
    location = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = [n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance]
        required = ".".join([*location, missing[0]]) if missing else ".".join(location)
        return f"{required} is required", required or None
    name = ".".join(location) or None
    return (f"{name}: {error.message}" if name else error.message), name


def _named(error: ValidationError, prefix: str | None) -> tuple[str, str | None]:
    message, name = _describe(error)
    if prefix:
        name = prefix if name is None else f"{prefix}.{name}"
        message = f"{prefix}: {error.message}" if name == prefix else message
    return message, name


def _each_missing(error: ValidationError) -> list[ValidationError]:
    """A `required` error names every missing property at once; split it, one per field."""
    if error.validator != "required" or not isinstance(error.instance, dict):
        return [error]
    missing = [n for n in error.validator_value if n not in error.instance]
    from jsonschema.exceptions import ValidationError

    return [
        ValidationError(
            f"{n!r} is a required property",
            validator="required",
            validator_value=[n],
            instance=error.instance,
            path=error.absolute_path,
        )
        for n in missing
    ] or [error]


def check_instance(validator: Compiled, instance: Any, prefix: str | None = None) -> None:
    if validator.passes(instance):
        return
    from jsonschema.exceptions import best_match

    found = list(validator.full.iter_errors(instance))
    error = best_match(found)
    if error is None:
        return
    message, name = _named(error, prefix)
    problems: dict[str, str] = {}
    for each in [error, *found]:  # the best match first, then one message per other field
        for one in _each_missing(each):
            each_message, each_name = _named(one, prefix)
            problems.setdefault(each_name or "body", each_message)
    raise RequestInvalid(message, name, str(error.validator), problems=tuple(problems.items()))


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python reads them anyway, and NaN passes every range check)."""
    raise ValueError(f"{name} is not a JSON value")


# `json.loads` with an option builds a new decoder on every call (a third of a small body's
# parse); this one is built once, and bytes are decoded first exactly as `json.loads` does it.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(raw: bytes | str) -> Any:
    """`json.loads(raw, parse_constant=_refuse_constant)`, with the same results and errors."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return _DECODER.decode(raw)
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))

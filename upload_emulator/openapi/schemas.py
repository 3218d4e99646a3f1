"""A compiled JSON Schema that answers the common case fast: "this instance is valid".

Every request's parameters and body, and in strict mode every response, is checked against
its spec, and nearly every check passes. jsonschema (pure Python) takes tens of microseconds
to say so, a tenth of a mint; jsonschema-rs (Rust, the validator schemathesis itself uses)
takes under one. So jsonschema-rs gives the verdict, and jsonschema is asked only when that
verdict is "invalid" or jsonschema-rs cannot read the instance (a lone surrogate, an integer
past 64 bits): it finds the errors, whose wording the vendors' error bodies carry, and it has
the last word. An instance jsonschema-rs refuses and jsonschema accepts (Python's `$` also
matches before a final newline) is accepted, as before. The reverse, jsonschema-rs accepting
what jsonschema refuses, would let a bad request through: `tests/unit/test_schemas.py` hunts
for it on every schema the shipped specs hold, and the fuzz tests' negative cases would too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:  # jsonschema is imported when it is first needed: a sixth of start-up (see `full`)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

log = logging.getLogger("upload_emulator.schemas")

_UNREADABLE = (ValueError, TypeError, OverflowError, UnicodeError)  # instances jsonschema-rs cannot convert


class Compiled:
    """One schema, with jsonschema-rs's validator and jsonschema's (`full`), each built on first use.

    `registry` gives jsonschema the documents the schema's remaining `$ref`s name (a recursive
    schema keeps one), and `fast_registry` gives them to jsonschema-rs; each is called at most
    once. Nothing of jsonschema is built, or even imported, until an instance fails the fast
    check: importing it was a sixth of the time `serve` took to answer, and a valid request
    never needs it (`serve` imports it in the background once it is answering).
    """

    __slots__ = ("_fast", "_fast_registry", "_full", "_registry", "schema")

    def __init__(self, schema: Any, registry: Callable[[], Registry] | None = None, fast_registry=None) -> None:
        self.schema = schema
        self._registry = registry
        self._full: Draft202012Validator | None = None
        self._fast_registry = fast_registry
        self._fast: Any = None

    @property
    def full(self) -> Draft202012Validator:
        """jsonschema's validator: it finds the errors, and has the last word."""
        if self._full is None:
            from jsonschema import Draft202012Validator

            registry = self._registry() if self._registry is not None else None
            self._full = (
                Draft202012Validator(self.schema)
                if registry is None
                else Draft202012Validator(self.schema, registry=registry)
            )
        return self._full

    @property
    def fast(self) -> Any:
        """jsonschema-rs's validator, or False when it cannot compile the schema (jsonschema then does all)."""
        if self._fast is None:
            self._fast = _compile_fast(self.schema, self._fast_registry)
        return self._fast

    def passes(self, instance: Any) -> bool:
        """True only when jsonschema-rs finds `instance` valid; False says nothing either way."""
        fast = self._fast if self._fast is not None else self.fast
        if fast is False:
            return False
        try:
            return fast.is_valid(instance)
        except _UNREADABLE:
            return False

    def is_valid(self, instance: Any) -> bool:
        return self.passes(instance) or self.full.is_valid(instance)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self.passes(instance):
            return iter(())
        return self.full.iter_errors(instance)


def _compile_fast(schema: Any, fast_registry) -> Any:
    try:
        registry = fast_registry() if fast_registry is not None and _has_ref(schema) else None
        options: dict[str, Any] = {"validate_formats": False}  # jsonschema checks no format either
        if registry is not None:
            options["registry"] = registry
        return jsonschema_rs.Draft202012Validator(schema, **options)
    except Exception as exc:  # a schema it cannot take: correct, only slower
        log.debug("jsonschema-rs cannot compile a schema (%s); jsonschema validates it alone", exc)
        return False


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(value) for value in node.values())
    return isinstance(node, list) and any(_has_ref(item) for item in node)


def load_in_background() -> None:
    """Import jsonschema now (`serve`, at a quiet moment), so the first request refused does not
    pay for the import."""
    import jsonschema  # noqa: F401
    import referencing.jsonschema  # noqa: F401


def fast_registry_for(uri: str, document: dict) -> Any:
    """A jsonschema-rs registry holding one document under `uri` (what recursive `$ref`s point at)."""
    return jsonschema_rs.Registry([(uri, document)])

"""jsonschema-rs may say "valid" first, so it must never accept what jsonschema refuses.

Every schema the shipped specs hold (parameters, bodies, discriminated branches, responses) is
compiled by both, then fed values drawn near its own rules: its enum members, examples and
bounds, and those bent (a final newline, another case, one past a bound, a float for an
integer, a lone surrogate, an integer past 64 bits, a missing or extra property).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upload_emulator.app import create_app, emulator_of
from upload_emulator.core.settings import Settings
from upload_emulator.openapi.instances import RequestInvalid, check_instance
from upload_emulator.openapi.schemas import Compiled


def _shipped_schemas() -> list[tuple[str, Compiled]]:
    emu = emulator_of(create_app(Settings(log_level="WARNING")))
    found: dict[int, tuple[str, Compiled]] = {}
    for vendor in emu.vendors.values():
        for op in vendor.spec.operations:
            named = [(f"{op.operation_id} {p.name}", p.validator) for p in op.parameters]
            if op.body_validator is not None:
                named.append((f"{op.operation_id} body", op.body_validator))
            if op.body_discriminator is not None:
                named += [(f"{op.operation_id} body as {k}", b) for k, b in op.body_discriminator[1].items()]
            for status, by_media in op.responses.items():
                named += [
                    (f"{op.operation_id} {status}", vendor.spec.validator_at(pointer))
                    for pointer in by_media.values()
                    if pointer
                ]
            for name, compiled in named:
                found.setdefault(id(compiled), (f"{vendor.name} {name}", compiled))
    emu.close()
    return sorted(found.values(), key=lambda item: item[0])


SCHEMAS = _shipped_schemas()
ODD = [None, True, False, 0, 1, -1, 1.0, 0.5, 2**63, 2**64 + 1, -(2**63) - 1, 1e308, "", "\ud800", "x" * 300, [], {}]


def _seeds(schema, depth: int = 0) -> list:
    """Values a schema names or bounds, and those bent just past where it draws its lines."""
    if not isinstance(schema, dict) or depth > 6:
        return []
    values: list = [*schema.get("enum", ()), *schema.get("examples", ())]
    if "const" in schema:
        values.append(schema["const"])
    if "default" in schema:
        values.append(schema["default"])
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        if isinstance(schema.get(bound), int | float):
            b = schema[bound]
            values += (
                [b, b - 1, b + 1, b + 0.5, float(b)]
                if "Length" not in bound
                else ["a" * max(b - 1, 0), "a" * b, "a" * (b + 1)]
            )
    for sub in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for part in schema.get(sub, ()) or ():
            values += _seeds(part, depth + 1)
    for sub in ("items", "not", "if", "then", "else", "additionalProperties"):
        values += _seeds(schema.get(sub), depth + 1)
    bent: list = []
    for value in values:
        if isinstance(value, str):
            bent += [value + "\n", value.upper(), value.lower(), " " + value, value + "\ud800", value[:-1]]
        elif isinstance(value, bool):
            bent += [int(value)]
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            bent += [str(value), float(value), -value]
    return values + bent


def _objects(schema, depth: int = 0) -> st.SearchStrategy:
    """Objects built from a schema's properties (each drawn from its own seeds), some left out, one extra."""
    props = schema.get("properties") or {} if isinstance(schema, dict) else {}
    for sub in ("allOf", "anyOf", "oneOf"):
        for part in (schema.get(sub, ()) if isinstance(schema, dict) else ()) or ():
            if isinstance(part, dict):
                props = {**props, **(part.get("properties") or {})}
    if not props or depth > 3:
        return st.just({})
    fields = {name: _values(sub, depth + 1) for name, sub in props.items()}
    return st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda base: st.one_of(st.just(base), st.sampled_from(ODD[:8]).map(lambda odd: {**base, "zz_extra": odd}))
    )


def _values(schema, depth: int = 0) -> st.SearchStrategy:
    seeds = _seeds(schema) + ODD
    choices = [st.sampled_from(seeds), st.text(max_size=6)]
    if isinstance(schema, dict) and (schema.get("type") in ("object", None) or "properties" in schema):
        choices.append(_objects(schema, depth))
    if isinstance(schema, dict) and isinstance(schema.get("items"), dict):
        choices.append(st.lists(_values(schema["items"], depth + 1), max_size=3))
    return st.one_of(choices)


@pytest.mark.parametrize(("name", "compiled"), SCHEMAS, ids=[name for name, _ in SCHEMAS])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_jsonschema_rs_never_accepts_what_jsonschema_refuses(name, compiled, data):
    instance = data.draw(_values(compiled.schema))
    if compiled.passes(instance):
        assert compiled.full.is_valid(instance), f"{name}: jsonschema-rs accepted {instance!r}"


def test_every_shipped_schema_compiles_for_the_fast_verdict():
    assert len(SCHEMAS) > 100
    assert [name for name, compiled in SCHEMAS if compiled.fast is False] == []


def test_the_verdict_is_jsonschemas_where_the_two_disagree():
    compiled = Compiled({"type": "string", "pattern": "^[a-z]+$"})
    assert not compiled.passes("abc\n")  # Rust's `$` is the end of the string
    assert compiled.is_valid("abc\n")  # Python's matches before a final newline, and it decides
    assert not compiled.is_valid("ABC")


def test_an_instance_jsonschema_rs_cannot_read_is_left_to_jsonschema():
    compiled = Compiled({"type": "object", "properties": {"n": {"type": "integer"}, "s": {"pattern": "^a.$"}}})
    assert not compiled.passes({"s": "a\ud800"}) and compiled.is_valid({"s": "a\ud800"})
    assert compiled.is_valid({"n": 2**70})
    assert not compiled.is_valid({"n": "2"})


def test_a_refused_instance_is_still_explained_in_jsonschemas_words():
    compiled = Compiled({"type": "object", "required": ["contentType"], "properties": {"size": {"minimum": 1}}})
    with pytest.raises(RequestInvalid) as refused:
        check_instance(compiled, {"size": 0})
    assert refused.value.field == "contentType" and refused.value.keyword == "required"
    assert dict(refused.value.problems) == {
        "contentType": "contentType is required",
        "size": "size: 0 is less than the minimum of 1",
    }


def test_a_schema_jsonschema_rs_cannot_compile_is_validated_by_jsonschema_alone():
    compiled = Compiled({"type": "string", "pattern": "(?<=a)b("})  # not a pattern Rust can compile
    assert compiled.fast is False
    assert not compiled.passes("ab")

"""Validators are built on inlined schemas: the same verdicts as following each `$ref`, without the cost."""

from __future__ import annotations

from upload_emulator.openapi.spec import Spec

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {},
    "components": {
        "schemas": {
            "Name": {"type": "string", "minLength": 2},
            "Named": {"type": "object", "properties": {"name": {"$ref": "#/components/schemas/Name", "maxLength": 3}}},
            "Tree": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
                    "leaf": {"type": "integer"},
                },
            },
        }
    },
}


def test_a_ref_beside_other_keywords_keeps_both_rules():
    validator = Spec("t", DOCUMENT).validator_at("/components/schemas/Named")
    assert "$ref" not in str(validator.schema)
    assert validator.is_valid({"name": "ab"})
    assert not validator.is_valid({"name": "a"})  # the target's minLength
    assert not validator.is_valid({"name": "abcd"})  # the sibling's maxLength


def test_a_recursive_schema_keeps_its_ref_and_still_validates_every_level():
    validator = Spec("t", DOCUMENT).validator_at("/components/schemas/Tree")
    assert validator.is_valid({"children": [{"children": [{"leaf": 1}]}]})
    assert not validator.is_valid({"children": [{"children": [{"leaf": "x"}]}]})

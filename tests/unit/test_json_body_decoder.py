"""A JSON request body is decoded as json.loads would decode it, value for value and error for error."""

from __future__ import annotations

import json

import pytest

from upload_emulator.openapi.instances import _refuse_constant, loads

BODIES = [
    b'{"a": 1}',
    b"[1, 2.5, -3e400, 1e-400]",
    b'"\\ud800"',  # a lone surrogate escape
    '{"é": "ü"}'.encode(),
    '{"a": "b"}'.encode("utf-16"),
    '{"a": "b"}'.encode("utf-16-le"),
    '{"a": "b"}'.encode("utf-32"),
    '{"a": 1}'.encode("utf-8-sig"),
    b"\xff\xfe\x00",
    b"\xc3\x28",  # not UTF-8
    b"NaN",
    b'{"a": Infinity}',
    b"[-Infinity]",
    b"{",
    b'{"a": 1,}',
    b"",
    b"   ",
    b"1 2",
    b"[" * 100 + b"]" * 100,
    b"9" * 5000,  # past int's digit limit
    b'{"a": 1, "a": 2}',
    "\ufeff{}",
    '{"a": [true, false, null]}',
]


def _outcome(decode, raw):
    try:
        return ("ok", decode(raw))
    except Exception as exc:  # compared as type and message
        return (type(exc), str(exc))


@pytest.mark.parametrize("raw", BODIES, ids=repr)
def test_the_body_decoder_gives_what_json_loads_gives_value_or_error(raw):
    reference = _outcome(lambda r: json.loads(r, parse_constant=_refuse_constant), raw)
    assert _outcome(loads, raw) == reference

"""A JSON request body: taken whole from the server where it has it, decoded as json.loads would."""

from __future__ import annotations

import json

import pytest

from upload_emulator.spec import _refuse_constant, loads
from upload_emulator.wire import WHOLE_BODY

SCRIPE = {"Authorization": "Bearer scripe_sk_test_acme_full_access", "Content-Type": "application/json"}
STREAMED = b'{"contentType": "text/plain"}'
HELD = b'{"contentType": "audio/mpeg"}'  # the same length, so only where it came from differs


def _minted_type(client, held: bytes | None) -> str:
    overrides = {} if held is None else {WHOLE_BODY: held}
    answer = client.post("/scripe/v1/uploads", data=STREAMED, headers=SCRIPE, environ_overrides=overrides)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]["contentType"]


def test_a_body_the_server_holds_whole_is_taken_as_it_is_and_the_stream_is_not_read(client):
    assert _minted_type(client, HELD) == "audio/mpeg"


def test_without_a_whole_body_the_stream_is_read(client):
    assert _minted_type(client, None) == "text/plain"


def test_a_whole_body_whose_length_is_not_the_declared_one_is_ignored_for_the_stream(client):
    assert _minted_type(client, HELD + b" ") == "text/plain"


def test_a_whole_body_over_the_json_cap_is_refused_before_it_is_taken(client):
    big = b'{"contentType": "audio/mpeg", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = client.post("/scripe/v1/uploads", data=big, headers=SCRIPE, environ_overrides={WHOLE_BODY: big})
    assert answer.status_code == 413


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

"""Bodies built to break parsers get each vendor's own 4xx, never a 500, and store nothing."""

from __future__ import annotations

import json

import pytest
from vendor_cases import case_for

from upload_emulator.vendors import installed

HOSTILE = {
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nul-bytes": b'{"contentType": "audio/\x00mpeg"',
    "bad-utf8": b'{"contentType": "\xc3\x28"}',
    "huge-number": b'{"contentType": "audio/mpeg", "maxSizeBytes": 1' + b"0" * 5000 + b"}",
    "nan": b'{"contentType": "audio/mpeg", "mimeType": "video/mp4", "maxSizeBytes": NaN, "duration": NaN}',
    "infinity": b'{"contentType": "audio/mpeg", "maxSizeBytes": Infinity, "duration": -Infinity}',
}


def with_a_lone_surrogate(example, where: str) -> bytes:
    """The example body with a lone surrogate escape: as its first string value, or in a field of its own."""
    if where == "extra field":
        return json.dumps({**example, "note": "x"}).replace('"x"', '"\\ud800"').encode()
    first = next(key for key, value in example.items() if isinstance(value, str))
    return json.dumps(example).replace(json.dumps(example[first]), '"\\ud800"', 1).encode()


@pytest.mark.parametrize("vendor", installed())
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_body_is_a_client_error_in_the_vendors_shape(app, client, emu, vendor, name):
    case = case_for(app, vendor)
    response = client.post(
        case.write_path, data=HOSTILE[name], headers={**case.credentials, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.data[:300]
    assert case.is_error(response.status_code, response.content_type, response.json), response.json
    assert emu.uploads.all() == []


@pytest.mark.parametrize("vendor", installed())
@pytest.mark.parametrize("where", ["first string", "extra field"])
def test_a_lone_surrogate_in_a_write_is_handled(app, client, emu, vendor, where):
    case = case_for(app, vendor)
    path, body = case.write_path, with_a_lone_surrogate(case.example, where)
    headers = {**case.credentials, "Content-Type": "application/json", "Idempotency-Key": "surrogate-1"}
    first = client.post(path, data=body, headers=headers)
    again = client.post(path, data=body, headers=headers)
    assert first.status_code < 500 and again.status_code == first.status_code
    if first.status_code < 400 and case.idempotent:  # a stored write is replayed as it was
        assert again.json == first.json


def test_nan_cannot_move_the_clock(client):
    response = client.post(
        "/_emulator/clock", data=b'{"advanceSeconds": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["code"] == "MALFORMED_REQUEST"

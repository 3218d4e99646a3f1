"""Bodies built to break parsers get each vendor's own 4xx, never a 500, and store nothing."""

from __future__ import annotations

import pytest
from support import VENDOR_CASES

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


def test_every_installed_vendor_is_in_the_shared_tests_table():
    assert set(VENDOR_CASES) == set(installed())


@pytest.mark.parametrize("vendor", sorted(VENDOR_CASES))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_body_is_a_client_error_in_the_vendors_shape(client, emu, vendor, name):
    case = VENDOR_CASES[vendor]
    response = client.post(
        case.write_path, data=HOSTILE[name], headers={**case.auth, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.data[:300]
    assert case.is_error(response.json), response.json
    assert emu.uploads.all() == []


@pytest.mark.parametrize("vendor", sorted(VENDOR_CASES))
def test_a_lone_surrogate_in_a_write_is_handled(client, emu, vendor):
    case = VENDOR_CASES[vendor]
    path, body = case.write_path, case.surrogate_body
    headers = {**case.auth, "Content-Type": "application/json", "Idempotency-Key": "surrogate-1"}
    first = client.post(path, data=body, headers=headers)
    again = client.post(path, data=body, headers=headers)
    assert first.status_code < 500 and again.status_code == first.status_code
    if case.idempotent:
        assert again.json == first.json


def test_nan_cannot_move_the_clock(client):
    response = client.post(
        "/_emulator/clock", data=b'{"advanceSeconds": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["code"] == "MALFORMED_REQUEST"

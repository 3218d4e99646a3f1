"""Bodies built to break parsers get each vendor's own 4xx, never a 500, and store nothing."""

from __future__ import annotations

import pytest
from support import FULL, STUDIO_KEY

VENDORS = {
    "scripe": ("/scripe/v1/uploads", {"Authorization": f"Bearer {FULL}"}, 400),
    "streamloop": ("/streamloop/v1/uploads", {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}, 400),
}
HOSTILE = {
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nul-bytes": b'{"contentType": "audio/\x00mpeg"',
    "bad-utf8": b'{"contentType": "\xc3\x28"}',
    "huge-number": b'{"contentType": "audio/mpeg", "maxSizeBytes": 1' + b"0" * 5000 + b"}",
    "nan": b'{"contentType": "audio/mpeg", "mimeType": "video/mp4", "maxSizeBytes": NaN, "duration": NaN}',
    "infinity": b'{"contentType": "audio/mpeg", "maxSizeBytes": Infinity, "duration": -Infinity}',
}


@pytest.mark.parametrize("vendor", sorted(VENDORS))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_body_is_a_client_error_in_the_vendors_shape(client, emu, vendor, name):
    path, auth, _ = VENDORS[vendor]
    response = client.post(path, data=HOSTILE[name], headers={**auth, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.data[:300]
    body = response.json
    assert ("error" in body) if vendor == "scripe" else (body["type"] == "about:blank")
    assert emu.uploads.all() == []


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_lone_surrogate_in_a_keyed_write_is_handled(client, emu, vendor):
    path, auth, _ = VENDORS[vendor]
    body = (
        b'{"contentType": "audio/mpeg", "note": "\\ud800"}'
        if vendor == "scripe"
        else b'{"mimeType": "video/mp4", "type": "video", "name": "\\ud800"}'
    )
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": "surrogate-1"}
    first = client.post(path, data=body, headers=headers)
    again = client.post(path, data=body, headers=headers)
    assert first.status_code < 500 and again.status_code == first.status_code
    assert again.json == first.json


def test_nan_cannot_move_the_clock(client):
    response = client.post(
        "/_emulator/clock", data=b'{"advanceSeconds": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["code"] == "MALFORMED_REQUEST"

"""Ids worked out the fast way give what the slow, obvious way gives."""

from __future__ import annotations

import base64
import os

from upload_emulator.api import upload_flow


def test_an_id_is_its_random_bytes_in_base32_as_the_standard_library_writes_them(monkeypatch):
    samples = [bytes(20), b"\xff" * 20, *(os.urandom(20) for _ in range(2000))]
    for raw in samples:
        assert upload_flow._base32(raw) == base64.b32encode(raw).decode()
    monkeypatch.setattr(upload_flow.secrets, "token_bytes", lambda n: samples[-1])
    for length in (20, 26, 32):
        assert upload_flow.new_id("upl_", length) == "upl_" + base64.b32encode(samples[-1]).decode()[:length]

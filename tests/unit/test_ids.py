"""Ids and header keys worked out the fast way give what the slow, obvious way gives."""

from __future__ import annotations

import base64
import os

from flask import Request

from upload_emulator import uploads
from upload_emulator.wire import Incoming


def test_an_id_is_its_random_bytes_in_base32_as_the_standard_library_writes_them(monkeypatch):
    samples = [bytes(20), b"\xff" * 20, *(os.urandom(20) for _ in range(2000))]
    for raw in samples:
        assert uploads._base32(raw) == base64.b32encode(raw).decode()
    monkeypatch.setattr(uploads.secrets, "token_bytes", lambda n: samples[-1])
    for length in (20, 26, 32):
        assert uploads.new_id("upl_", length) == "upl_" + base64.b32encode(samples[-1]).decode()[:length]


def test_header_lookups_past_the_remembered_names_still_find_what_werkzeug_finds():
    names = [f"X-Custom-{n}" for n in range(300)] + ["content-type", "Content_Length", "HOST", "x_custom_7"]
    environ = {"REQUEST_METHOD": "GET", "HTTP_X_CUSTOM_7": "seven", "HTTP_X_CUSTOM_299": "last", "HTTP_HOST": "h"}
    environ.update({"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "3"})
    ours, theirs = Incoming(environ).headers, Request(environ).headers
    for _ in range(2):  # the second pass reads the remembered keys
        assert [ours.get(name) for name in names] == [theirs.get(name) for name in names]
        assert [name in ours for name in names] == [name in theirs for name in names]

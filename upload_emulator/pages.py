"""Opaque list cursors: a position in a store's ever-growing sequence, base64 so clients treat it as a token."""

from __future__ import annotations

import base64
import binascii
import json

from upload_emulator import errors
from upload_emulator.errors import ApiError, ErrorKind


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": seq}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: ErrorKind = errors.UNPROCESSABLE) -> int:
    """The position a cursor from `encode_cursor` names; anything else is the vendor's `kind` of error."""
    try:
        seq = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))["before"]
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        pass
    raise ApiError(kind, "cursor is not one this API returned.", field="cursor")

"""Opaque list cursors: `c` and a position in a store's ever-growing sequence.

The spec describes the shape (`^c[0-9]{1,18}$`), so every cursor the schema allows also
reads: one past every item gives an empty page, never an error a schema cannot foresee.
"""

from __future__ import annotations

import re

from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError, ErrorKind

CURSOR = re.compile(r"c([0-9]{1,18})")


def encode_cursor(seq: int) -> str:
    return f"c{seq}"


def decode_cursor(cursor: str, kind: ErrorKind = errors.UNPROCESSABLE) -> int:
    """The position a cursor names; a string of another shape is the vendor's `kind` of error."""
    found = CURSOR.fullmatch(cursor)
    if found is None:
        raise ApiError(kind, "cursor is not one this API returned.", field="cursor")
    return int(found.group(1))

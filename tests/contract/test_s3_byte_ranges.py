"""Edge cases of `Range: bytes=…` on GetObject."""

from __future__ import annotations

import pytest

from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError
from upload_emulator.s3.objects import byte_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("items=0-1", 10, None),
        ("bytes=0-1,4-5", 10, None),
        ("bytes=-", 10, None),
        ("bytes=5-2", 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=-100", 10, (0, 9)),
        ("bytes=9-", 10, (9, 9)),
    ],
)
def test_ranges_are_read_as_http_says(header, size, expected):
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0)])
def test_unsatisfiable_ranges_are_416_with_the_object_size(header, size):
    with pytest.raises(ApiError) as refused:
        byte_range(header, size)
    assert refused.value.kind is errors.INVALID_RANGE
    assert refused.value.headers["Content-Range"] == f"bytes */{size}"

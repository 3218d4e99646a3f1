"""Minting and redeeming uploads: the flow every vendor shares.

A vendor handler decides *what* may be uploaded (its allow-list, caps, TTL, key layout);
this module records the upload, signs the PUT URL against the host the client used, and
takes an upload for one use.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from upload_emulator.api.access import is_valid_host
from upload_emulator.api.call import Call
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError
from upload_emulator.services.emulator import Emulator
from upload_emulator.services.records import NotRedeemable, UploadRecord

S3_MOUNT = "/s3"


def new_id(prefix: str, length: int = 26) -> str:
    """An opaque id: `prefix` + `length` (at most 32) random base32 characters (130 random bits at 26)."""
    return prefix + _base32(secrets.token_bytes(20))[:length]


_PAIRS = [a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"]


def _base32(raw: bytes) -> str:
    """`base64.b32encode(raw).decode()` for 20 bytes, two letters (10 bits) at a time: the
    standard library's encoder is written in Python, and every mint makes an id."""
    bits = int.from_bytes(raw, "big")
    return "".join([_PAIRS[(bits >> shift) & 1023] for shift in range(150, -1, -10)])


def cap_for(table: dict[str, int], content_type: str) -> int | None:
    """The size cap for `content_type`: an exact entry, else the first matching wildcard."""
    media = content_type.split(";")[0].strip().lower()
    if media in table:
        return table[media]
    for pattern, cap in table.items():
        if "*" in pattern and fnmatch.fnmatchcase(media, pattern):
            return cap
    return None


# What a `*` in an allow-list may stand for in a schema: one or more RFC 9110 token characters.
_TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+"


def media_type_schema(types: list[str]) -> dict:
    """The JSON Schema for a content type on `types` (an allow-list, `*` as a wildcard): an
    `enum` when every entry is exact, else a `pattern`. Lower-case and without parameters: it
    names only what `cap_for` accepts, so a schema-valid type always has a cap."""
    if not any("*" in t for t in types):
        return {"enum": list(types)}
    alternatives = "|".join(_TOKEN.join(re.escape(part) for part in t.split("*")) for t in types)
    return {"pattern": f"^(?:{alternatives})$"}


def cap_rule(table: dict[str, int], field: str, size_field: str) -> dict:
    """An `if`/`then` that holds a type's size field to its cap, checked only when the size
    field is sent (jsonschema's `if` costs tens of microseconds each; a mint seldom sends it).
    Exact entries are grouped by cap; a wildcard entry gets its own rule, leaving out what
    `cap_for` finds first (exact entries, then earlier wildcards)."""
    exact = [t for t in table if "*" not in t]
    wildcards = [t for t in table if "*" in t]
    by_cap: dict[int, list[str]] = {}
    for entry in exact:
        by_cap.setdefault(table[entry], []).append(entry)
    matches = [(media_type_schema(types), cap) for cap, types in by_cap.items()]
    for n, entry in enumerate(wildcards):
        match = media_type_schema([entry])
        earlier = exact + wildcards[:n]
        matches.append(({**match, "not": media_type_schema(earlier)} if earlier else match, table[entry]))
    rules = [
        {
            "if": {"properties": {field: match}, "required": [field]},
            "then": {"properties": {size_field: {"maximum": cap}}},
        }
        for match, cap in matches
    ]
    return {"if": {"required": [size_field]}, "then": {"allOf": rules}}


def s3_endpoint(scheme: str, host: str) -> str:
    """The S3 endpoint as the client reached it; a Host that is not host[:port] cannot make a URL."""
    if not is_valid_host(host):
        raise ApiError(
            errors.MALFORMED_REQUEST, "The Host header must be host[:port]: URLs are made from it.", field="Host"
        )
    return f"{scheme}://{host}{S3_MOUNT}"


def record_upload(
    call: Call,
    *,
    upload_id: str,
    content_type: str,
    max_size_bytes: int,
    key_template: str,
    ttl_s: int | None = None,
    workspace: str | None = None,
    key_fields: dict[str, str] | None = None,
) -> UploadRecord:
    """Record an upload of the call's vendor waiting for bytes, in the caller's workspace (or
    `workspace`, where the vendor keeps data apart: Scripe's live and test keys); `ttl_s` None
    means the handle itself never expires. `key_template` may use {workspace}, {upload_id}
    and any of `key_fields`."""
    vendor, now = call.vendor.name, call.now
    space = workspace or call.workspace.id
    return call.emu.uploads.add(
        UploadRecord(
            id=upload_id,
            vendor=vendor,
            workspace=space,
            content_type=content_type,
            max_size_bytes=max_size_bytes,
            created_at=now,
            expires_at=None if ttl_s is None else now + timedelta(seconds=ttl_s),
            bucket=call.emu.bucket_for(vendor),
            key=key_template.format(workspace=space, upload_id=upload_id, **(key_fields or {})),
        )
    )


def object_url(call: Call, record: UploadRecord) -> str:
    """The record's object on the emulator's S3 endpoint, path-style, as the caller's Host reaches it."""
    return f"{s3_endpoint(call.request.scheme, call.request.host)}/{record.bucket}/{quote(record.key, safe='/~')}"


def presign_put(call: Call, record: UploadRecord, *, ttl_s: int) -> str:
    """A presigned PUT URL for the record's object (`object_url`), signed for its content type and
    the Host the caller used, valid `ttl_s` seconds from the call's time."""
    scheme, host = call.request.scheme, call.request.host
    s3_endpoint(scheme, host)  # refuses a Host that cannot make a URL
    headers = {"Content-Type": record.content_type, "host": host}
    path = f"{S3_MOUNT}/{record.bucket}/{quote(record.key, safe='/~')}"
    until = call.now + timedelta(seconds=ttl_s)
    record.put_until = until if record.put_until is None else max(record.put_until, until)
    return call.emu.presigner.mint_at("PUT", scheme, host, path, headers, ttl_s, call.now)


def mint(call: Call, *, ttl_s: int, **record_fields: Any) -> tuple[UploadRecord, str]:
    """Record an upload and presign its PUT in one go (the handle expires with its URL)."""
    record = record_upload(call, ttl_s=ttl_s, **record_fields)
    return record, presign_put(call, record, ttl_s=ttl_s)


def redeem(
    emu: Emulator, *, upload_id: str, workspace: str, by: str, now: datetime, field: str = "uploadId"
) -> UploadRecord:
    """Take an upload for one use, or raise UPLOAD_NOT_REDEEMABLE naming `field`.

    What happens to the stored object afterwards is the vendor's rule (Scripe deletes it).
    """
    try:
        return emu.uploads.redeem(upload_id, workspace, by, now)
    except NotRedeemable as why:
        raise ApiError(errors.UPLOAD_NOT_REDEEMABLE, str(why), field=field) from None


def head_bytes(emu: Emulator, record: UploadRecord, limit: int) -> bytes:
    """The first `limit` bytes of an upload's stored object (for previews)."""
    out = bytearray()
    for chunk in emu.storage.iter_content(record.bucket, record.key, chunk_bytes=limit):
        out += chunk
        if len(out) >= limit:
            break
    return bytes(out[:limit])

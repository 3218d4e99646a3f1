"""ListObjectsV2 as S3 answers it: prefix, delimiter (common prefixes), max-keys, start-after and
continuation tokens, over the objects `storage` lists."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from upload_emulator.blobs.storage import StoredObject
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _after_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            errors.AUTH_QUERY_INVALID, "The continuation token provided is incorrect", code="InvalidArgument"
        ) from None


def list_objects_v2(bucket: str, objects: Sequence[StoredObject], args: Mapping[str, str]) -> str:
    """The ListBucketResult XML for one page of `objects` (already filtered by prefix, sorted by key)."""
    prefix, delimiter = args.get("prefix", ""), args.get("delimiter", "")
    try:
        max_keys = min(MAX_KEYS, int(args.get("max-keys", MAX_KEYS)))
    except ValueError:
        raise ApiError(
            errors.AUTH_QUERY_INVALID,
            "Provided max-keys not an integer or within integer range",
            code="InvalidArgument",
        ) from None
    if max_keys < 0:
        raise ApiError(errors.AUTH_QUERY_INVALID, "max-keys cannot be negative", code="InvalidArgument")
    after = _after_token(args["continuation-token"]) if "continuation-token" in args else args.get("start-after", "")
    entries: list[tuple[str, StoredObject | None]] = []  # (key or common prefix, object or None)
    seen_prefixes: set[str] = set()
    for obj in objects:
        if obj.key <= after:
            continue
        rest = obj.key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest.split(delimiter, 1)[0] + delimiter
            if common not in seen_prefixes and common > after:
                seen_prefixes.add(common)
                entries.append((common, None))
            continue
        entries.append((obj.key, obj))
    page, truncated = entries[:max_keys], len(entries) > max_keys
    contents = "".join(
        f"<Contents><Key>{escape(o.key)}</Key>"
        f"<LastModified>{o.last_modified.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</LastModified>"
        f"<ETag>{escape(o.etag)}</ETag><Size>{o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        for _, o in page
        if o is not None
    )
    commons = "".join(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p, o in page if o is None)
    extra = f"<Delimiter>{escape(delimiter)}</Delimiter>" if delimiter else ""
    if "continuation-token" in args:
        extra += f"<ContinuationToken>{escape(args['continuation-token'])}</ContinuationToken>"
    if truncated:
        extra += f"<NextContinuationToken>{_token(page[-1][0])}</NextContinuationToken>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{S3_NS}">'
        f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>{extra}<KeyCount>{len(page)}</KeyCount>"
        f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        f"{contents}{commons}</ListBucketResult>"
    )

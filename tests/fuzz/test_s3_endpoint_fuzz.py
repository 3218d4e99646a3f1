"""The S3 endpoint has no OpenAPI spec, so Hypothesis fuzzes it directly: no input breaks it.

Random methods, paths, query strings (including forged X-Amz-* parameters and sub-resources),
headers and bodies must never produce a 5xx (but S3's own 501 NotImplemented for a
sub-resource the emulator does not have), must always answer errors as S3 XML, and must
never store an object.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import FULL, make_app

from upload_emulator.app import emulator_of
from upload_emulator.blobs.sigv4 import QUERY_AUTH_PARAMS
from upload_emulator.s3.routes import SUBRESOURCES

AMZ = [*QUERY_AUTH_PARAMS, "prefix", "list-type", *sorted(SUBRESOURCES)[:4]]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
query = st.lists(st.tuples(st.sampled_from(AMZ) | text, text), max_size=8)
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Authorization", "X-Amz-Date", "Content-MD5", "x-amz-content-sha256", "Expect"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    max_size=4,
)


@pytest.fixture(scope="module")
def s3_app():
    app = make_app()
    client = app.test_client()
    minted = client.post(
        "/scripe/v1/uploads",
        json={"contentType": "audio/mpeg", "maxSizeBytes": 64},
        headers={"Authorization": f"Bearer {FULL}"},
    ).json["data"]
    yield app, minted
    emu = emulator_of(app)
    errors = emu.take_server_errors()
    emu.close()
    assert not errors, errors


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]),
    path=st.sampled_from(["", "/", "/{bucket}", "/{bucket}/{key}", "/{bucket}/other", "/nope/x"]),
    pairs=query,
    sent=headers,
    body=st.binary(max_size=200),
    reuse_signature=st.booleans(),
)
def test_no_request_to_the_s3_endpoint_breaks_it_or_stores_anything(
    s3_app, method, path, pairs, sent, body, reuse_signature
):
    app, minted = s3_app
    emu = emulator_of(app)
    record = emu.uploads.get(minted["id"])
    target = "/s3" + path.format(bucket=record.bucket, key=record.key)
    raw_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    if reuse_signature:  # a real signature with forged extras: must still be refused
        raw_query = minted["uploadUrl"].split("?", 1)[1] + ("&" + raw_query if raw_query else "")
    response = app.test_client().open(f"{target}?{raw_query}", method=method, headers=sent, data=body)
    not_implemented = response.status_code == 501 and (
        method == "HEAD" or b"<Code>NotImplemented</Code>" in response.data
    )
    assert response.status_code < 500 or not_implemented, response.data[:300]
    if response.status_code >= 400 and method != "HEAD":
        assert ET.fromstring(response.data).tag == "Error"
    legit = reuse_signature and method == "PUT" and not pairs and path == "/{bucket}/{key}"
    if not legit:
        assert emu.storage.head(record.bucket, record.key) is None

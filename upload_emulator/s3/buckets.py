"""Buckets and the service: ListObjectsV2, HeadBucket and ListBuckets, signed as boto3 signs."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Response, request

from upload_emulator.core.errors import ApiError
from upload_emulator.s3.call import open_read
from upload_emulator.s3.listing import S3_NS, list_objects_v2


def list_objects(bucket: str) -> Response:
    call, refused = open_read("ListObjectsV2", bucket)
    if refused is not None:
        return refused
    try:
        xml = list_objects_v2(bucket, call.emu.storage.list(bucket, request.args.get("prefix", "")), request.args)
    except ApiError as err:
        return call.error(err)
    return call.finish(Response(xml, status=200, content_type="application/xml"))


def head_bucket(bucket: str) -> Response:
    call, refused = open_read("HeadBucket", bucket)
    if refused is not None:
        refused.set_data(b"")  # HEAD answers carry no body, errors included
        return refused
    return call.finish(Response(b"", status=200, headers={"x-amz-bucket-region": call.emu.settings.s3_region}))


def bucket_location(bucket: str) -> Response:
    """GetBucketLocation (the AWS CLI asks for it): S3 answers an empty constraint for us-east-1."""
    call, refused = open_read("GetBucketLocation", bucket)
    if refused is not None:
        return refused
    region = call.emu.settings.s3_region
    constraint = "" if region == "us-east-1" else escape(region)
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{S3_NS}">{constraint}'
    xml += "</LocationConstraint>"
    return call.finish(Response(xml, status=200, content_type="application/xml"))


def list_buckets() -> Response:
    call, refused = open_read("ListBuckets")
    if refused is not None:
        return refused
    emu = call.emu
    buckets = "".join(
        f"<Bucket><Name>{escape(name)}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
        for name in emu.storage.bucket_names()
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{S3_NS}">'
        f"<Owner><ID>upload-emulator</ID></Owner><Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
    )
    return call.finish(Response(xml, status=200, content_type="application/xml"))

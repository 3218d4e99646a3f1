"""The S3 endpoint under /s3: presigned PUTs from clients, signed reads from boto3.

Reads (GetObject, HeadObject, ListObjectsV2, ListBuckets, DeleteObject, HeadBucket) take a
normal SigV4 `Authorization` header made with the emulator's fixed credentials, so an
ordinary boto3 client pointed at `http://host:port/s3` can check what landed.

`call` is one request's life (faults, lanes, auth, errors, journal), `objects` the PUT and
the reads of one object, `buckets` the listings, `listing` the ListObjectsV2 XML, and
`routes` the blueprint.
"""

from upload_emulator.s3.routes import blueprint

__all__ = ["blueprint"]

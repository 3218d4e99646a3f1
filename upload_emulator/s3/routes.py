"""The S3 endpoint's routes under /s3, and the answers for what it does not emulate (501, 405)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from upload_emulator.api.pipeline import busy
from upload_emulator.api.upload_flow import S3_MOUNT
from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError
from upload_emulator.s3 import buckets, objects
from upload_emulator.s3.call import DRAIN_LIMIT, S3Call, answer_before_routing, authorize_read, current_emulator, drain
from upload_emulator.serving import contract

# Query parameters that name an S3 sub-resource or API the emulator does not emulate: 501.
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def not_implemented(operation: str) -> Response:
    """S3 features the emulator does not have (`?acl`, `?tagging`, multipart, …) say so, as 501."""
    call = S3Call(current_emulator(), operation)
    asked = sorted(set(request.args) & SUBRESOURCES)
    err = ApiError(
        errors.INTERNAL,
        f"The emulator does not implement the {', '.join(asked)} sub-resource(s).",
        code="NotImplemented",
        status=501,
        extra={"Header": "", "Subresource": ",".join(asked)},
    )
    return call.error(err, close=not drain(request.stream, DRAIN_LIMIT))


def _not_allowed(operation: str) -> Response:
    """405 — but a presigned URL used with the wrong method fails its signature first, as on S3."""
    call = S3Call(current_emulator(), operation)
    try:
        if "X-Amz-Signature" in request.args:
            authorize_read(call)
        raise ApiError(errors.S3_METHOD_NOT_ALLOWED, extra={"Method": request.method})
    except ApiError as err:
        return call.error(err, close=not drain(request.stream, DRAIN_LIMIT))


def _admit() -> Response | None:
    """A request the server refused to frame, or found no room for, answered in S3's XML, body unread."""
    rejection = contract.rejection(request.environ)
    if rejection is not None:
        return answer_before_routing(ApiError(errors.MALFORMED_REQUEST, rejection.reason), rejection.status)
    if contract.refused(request.environ):
        return answer_before_routing(busy(), None)
    return None


def blueprint() -> Blueprint:
    bp = Blueprint("s3", __name__, url_prefix=S3_MOUNT)
    bp.before_request(_admit)
    any_method = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]

    @bp.route("/", methods=any_method, strict_slashes=False)
    def service_root():
        return buckets.list_buckets() if request.method == "GET" else _not_allowed("Service")

    @bp.route("/<bucket>", methods=any_method, strict_slashes=False)
    def bucket_root(bucket: str):
        if "location" in request.args and request.method == "GET" and not SUBRESOURCES & set(request.args):
            return buckets.bucket_location(bucket)
        if SUBRESOURCES & set(request.args):
            return not_implemented("Bucket")
        if request.method == "HEAD":
            return buckets.head_bucket(bucket)
        return buckets.list_objects(bucket) if request.method == "GET" else _not_allowed("Bucket")

    @bp.route("/<bucket>/<path:key>", methods=any_method)
    def object_route(bucket: str, key: str):
        if SUBRESOURCES & set(request.args):
            return not_implemented("Object")
        if request.method == "PUT":
            return objects.put_object(bucket, key)
        if request.method in ("GET", "HEAD"):
            return objects.get_object(bucket, key, head=request.method == "HEAD")
        if request.method == "DELETE":
            return objects.delete_object(bucket, key)
        return _not_allowed("Object")

    return bp

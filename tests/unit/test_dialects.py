"""Each vendor's error shape, rendered from one ApiError."""

import json
import xml.etree.ElementTree as ET

from upload_emulator.core import errors
from upload_emulator.core.dialects import render, render_s3
from upload_emulator.core.errors import ApiError, ErrorMapping
from upload_emulator.core.profiles import VendorProfile
from upload_emulator.vendors.scripe import DIALECTS

SCRIPE = VendorProfile(
    name="scripe",
    dialect="scripe",
    shape=DIALECTS["scripe"],
    spec="scripe",
    docs_url="https://docs.scripe.io/e#{code}",
    error_map={"SCOPE_MISSING": ErrorMapping(403, "scope_missing")},
)


def body(rendered):
    return json.loads(rendered.body)


def test_scripe_errors_carry_code_message_request_id_docs_url_and_details():
    err = ApiError(errors.SCOPE_MISSING, "Need one of: a.", extra={"required": ["a"]})
    rendered = render(err, SCRIPE, "req_1")
    assert rendered.status == 403
    assert body(rendered) == {
        "error": {
            "code": "scope_missing",
            "message": "Need one of: a.",
            "request_id": "req_1",
            "docs_url": "https://docs.scripe.io/e#scope_missing",
            "details": {"required": ["a"]},
        }
    }


def test_an_unmapped_kind_falls_back_to_its_own_status_and_name():
    rendered = render(ApiError(errors.RATE_LIMITED), SCRIPE, "req_2")
    assert (rendered.status, body(rendered)["error"]["code"]) == (429, "RATE_LIMITED")


def test_problem_json_has_type_title_status_detail_code():
    profile = VendorProfile(
        name="sl", dialect="problem+json", spec="sl", error_map={"NOT_FOUND": ErrorMapping(404, "NOT_FOUND")}
    )
    rendered = render(ApiError(errors.NOT_FOUND, "no upload u1"), profile, "req_3")
    assert rendered.content_type == "application/problem+json"
    assert body(rendered) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no upload u1",
        "code": "NOT_FOUND",
    }


def test_s3_errors_are_xml_with_code_message_extras_and_request_id():
    rendered = render_s3(ApiError(errors.REQUEST_EXPIRED, extra={"X-Amz-Expires": 900}), "RID1")
    root = ET.fromstring(rendered.body)
    assert rendered.status == 403
    assert [root.findtext(t) for t in ("Code", "Message", "X-Amz-Expires", "RequestId")] == [
        "AccessDenied",
        "Request has expired",
        "900",
        "RID1",
    ]


def test_a_vendor_may_restate_an_s3_error():
    rendered = render_s3(ApiError(errors.ENTITY_TOO_LARGE), "RID2", ErrorMapping(412, "PreconditionFailed"))
    assert rendered.status == 412
    assert ET.fromstring(rendered.body).findtext("Code") == "PreconditionFailed"


def test_s3_errors_stay_well_formed_xml_whatever_the_client_sent():
    hostile = "sig\x00\x01<&>\ud800\ufffe"
    rendered = render_s3(ApiError(errors.SIGNATURE_MISMATCH, extra={"SignatureProvided": hostile}), "R")
    provided = ET.fromstring(rendered.body).findtext("SignatureProvided")
    assert provided.startswith("sig") and "<&>" in provided and "\x00" not in provided

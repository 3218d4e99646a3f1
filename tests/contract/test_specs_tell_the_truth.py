"""Rules the server enforces are in the specs, so schema tools see what the server does."""

from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from support import FIXTURES, FULL, STUDIO_KEY, make_app
from vendor_cases import case_for

from upload_emulator.api.upload_flow import cap_for, cap_rule
from upload_emulator.app import emulator_of
from upload_emulator.core.datafiles import load_yaml, spec_path
from upload_emulator.vendors import installed, spec_file


def test_scripes_version_header_is_an_enum_of_exactly_the_versions_the_fixture_accepts():
    spec = yaml.safe_load(spec_path("scripe").read_text())
    fixture = yaml.safe_load((FIXTURES / "scripe.yaml").read_text())
    declared = spec["components"]["parameters"]["ApiVersion"]["schema"]["enum"]
    assert declared == fixture["profile"]["versions"]["accepted"]


def test_a_well_formed_cursor_past_the_end_reads_as_an_empty_page_not_an_error():
    client = make_app().test_client()
    scripe = client.get("/scripe/v1/jobs?cursor=c0", headers={"Authorization": f"Bearer {FULL}"})
    assert scripe.status_code == 200 and scripe.json["data"] == []
    studio = {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}
    streamloop = client.get("/streamloop/v1/uploads?cursor=c0", headers=studio)
    assert streamloop.status_code == 200 and streamloop.json["data"] == []
    bad = client.get("/scripe/v1/jobs?cursor=zzz", headers={"Authorization": f"Bearer {FULL}"})
    assert bad.status_code == 400 and bad.json["error"]["details"]["param"] == "cursor"


def test_options_lists_only_the_methods_of_the_path_asked_about():
    client = make_app().test_client()
    from_link = client.options("/streamloop/v1/uploads/from-link")
    assert from_link.headers["Allow"] == "OPTIONS, POST"  # not /uploads/{id}'s GET and DELETE
    keys = client.options("/ctxfy/v1/api-keys")
    assert set(keys.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_the_control_apis_vendor_fields_name_exactly_the_served_vendors():
    app = make_app(vendors=("scripe", "ctxfy"))
    document = app.test_client().get("/_emulator/openapi.json").json
    schemas = document["components"]["schemas"]
    assert schemas["Vendor"]["enum"] == ["scripe", "ctxfy"]
    assert schemas["FaultVendor"]["enum"] == ["scripe", "ctxfy", "s3"]
    emulator_of(app).close()


def test_each_shipped_spec_on_disk_already_states_the_rules_its_default_fixture_adds():
    emu = emulator_of(make_app())
    for vendor in installed():
        assert emu.vendors[vendor].spec.document == load_yaml(spec_file(vendor)), (
            f"specs/{vendor}.yaml drifted from its fixture"
        )


def test_scripes_served_schema_carries_the_allow_list_the_fixture_picks_wildcards_included():
    client = make_app(overrides=("scripe.uploads.caps=reference",)).test_client()
    create = client.get("/scripe/openapi.json").json["components"]["schemas"]["UploadCreate"]
    pattern = create["properties"]["contentType"]["pattern"]
    accepted = [
        t
        for t in ("audio/ogg", "application/vnd.openxmlformats-officedocument.x", "text/plain")
        if re.search(pattern, t)
    ]
    assert accepted == ["audio/ogg", "application/vnd.openxmlformats-officedocument.x", "text/plain"]
    assert not any(re.search(pattern, t) for t in ("audio/", "text/markdown", "Audio/ogg", "audio/ogg; x=1"))
    auth = {"Authorization": f"Bearer {FULL}"}
    ogg = client.post("/scripe/v1/uploads", json={"contentType": "audio/ogg"}, headers=auth)
    assert ogg.status_code == 200 and ogg.json["data"]["maxSizeBytes"] == 524288000
    too_big = client.post(
        "/scripe/v1/uploads", json={"contentType": "audio/ogg", "maxSizeBytes": 524288001}, headers=auth
    )
    off_list = client.post("/scripe/v1/uploads", json={"contentType": "text/markdown"}, headers=auth)
    assert [r.json["error"]["details"]["param"] for r in (too_big, off_list)] == ["maxSizeBytes", "contentType"]
    assert {r.status_code for r in (too_big, off_list)} == {422}


def test_a_wildcard_entry_leaves_types_an_exact_entry_caps_to_that_entry():
    table = {"text/*": 100, "text/plain": 5}
    validator = Draft202012Validator(cap_rule(table, "contentType", "size"))
    assert validator.is_valid({"contentType": "text/plain", "size": 5})
    assert not validator.is_valid({"contentType": "text/plain", "size": 6})
    assert validator.is_valid({"contentType": "text/csv", "size": 100})
    assert not validator.is_valid({"contentType": "text/csv", "size": 101})
    assert cap_for(table, "text/plain") == 5 and cap_for(table, "text/csv") == 100


def test_streamloops_mime_list_and_size_cap_answer_with_their_own_codes_from_the_schema():
    client = make_app().test_client()
    studio = {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}
    body = {"name": "a", "type": "video", "mimeType": "video/mp4"}
    wrong_kind = client.post("/streamloop/v1/uploads", json={**body, "mimeType": "audio/mpeg"}, headers=studio)
    too_big = client.post("/streamloop/v1/uploads", json={**body, "fileSize": 5_000_000_001}, headers=studio)
    assert [(r.status_code, r.json["code"]) for r in (wrong_kind, too_big)] == [
        (422, "UNSUPPORTED_TYPE"),
        (422, "FILE_TOO_LARGE"),
    ]


def test_the_from_link_pattern_means_the_same_to_python_and_to_schema_tools():
    client = make_app().test_client()
    studio = {"X-API-Key": STUDIO_KEY, "X-Workspace-Id": "wksp_studio"}
    pattern = client.get("/streamloop/openapi.json").json["paths"]["/uploads/from-link"]["post"]["requestBody"][
        "content"
    ]["application/json"]["schema"]["properties"]["url"]["pattern"]
    assert "\\s" not in pattern  # Python's \s also matches \x1c-\x1f; ECMA-262's (schema tools') does not
    for url, status in [("https://[::1", 422), ("https://\x1dx", 422), ("https://cdn.example/a[1].mp4", 202)]:
        response = client.post("/streamloop/v1/uploads/from-link", json={"type": "VIDEO", "url": url}, headers=studio)
        assert response.status_code == status, (url, response.json)
        assert status == 202 or response.json["errors"][0]["field"] == "url"


@pytest.mark.parametrize("vendor", installed())
def test_every_vendor_spec_gives_the_shared_suites_a_write_a_fixture_key_can_send(app, vendor):
    case = case_for(app, vendor)  # fails, naming what it tried, when no key makes the example pass
    assert case.write.method == "POST" and case.credentials

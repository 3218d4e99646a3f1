"""Rules the server enforces are in the specs, so schema tools see what the server does."""

from __future__ import annotations

import yaml
from support import FIXTURES, FULL, STUDIO_KEY, make_app

from upload_emulator.app import emulator_of
from upload_emulator.datafiles import spec_path


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

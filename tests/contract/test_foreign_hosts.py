"""A Host that is not this emulator's is refused on every surface, in its own shape, and no URL is
minted for it: a page whose name was rebound to 127.0.0.1 cannot use the public fixture keys."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from support import make_app
from vendor_cases import case_for

from upload_emulator.app import emulator_of
from upload_emulator.vendors import installed

EVIL = "evil.example"


@pytest.mark.parametrize("vendor", installed())
def test_a_write_under_a_foreign_host_is_refused_in_the_vendors_shape_and_mints_nothing(app, client, emu, vendor):
    case = case_for(app, vendor)
    refused = client.post(case.write_path, json=case.example, headers={**case.credentials, "Host": EVIL})
    assert refused.status_code == 400
    assert case.is_error(refused.status_code, refused.content_type, refused.json), refused.json
    assert EVIL in refused.get_data(as_text=True) and "--allowed-host" in refused.get_data(as_text=True)
    assert emu.uploads.all() == []
    [entry] = [e for e in emu.journal.entries() if e["vendor"] == vendor]
    assert entry["status"] == 400


@pytest.mark.parametrize("vendor", installed())
def test_a_host_the_user_allowed_is_answered_and_minted_urls_carry_it(vendor):
    app = make_app(allowed_hosts=("emulator",))
    try:
        case = case_for(app, vendor)
        answer = app.test_client().post(
            case.write_path, json=case.example, headers={**case.credentials, "Host": "emulator:8080"}
        )
        assert answer.status_code < 300, answer.json
        assert "127.0.0.1" not in answer.get_data(as_text=True) and "localhost" not in answer.get_data(as_text=True)
    finally:
        emulator_of(app).close()


def test_the_s3_endpoint_refuses_a_foreign_host_in_s3s_xml(client, emu):
    bucket = emu.bucket_for("scripe")
    refused = client.get(f"/s3/{bucket}", headers={"Host": EVIL})
    assert refused.status_code == 403 and ET.fromstring(refused.data).findtext("Code") == "AccessDenied"
    assert emu.journal.entries()[-1]["vendor"] == "s3"


def test_an_allowed_host_of_star_answers_any_name():
    app = make_app(allowed_hosts=("*",))
    try:
        assert app.test_client().get("/scripe/v1/health", headers={"Host": EVIL}).status_code == 200
    finally:
        emulator_of(app).close()

"""`serve --vendor scripe`: the vendor at the root, for SDKs whose paths cannot take a prefix."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from support import FULL, make_app

from upload_emulator.app import emulator_of


@pytest.fixture
def root_app():
    app = make_app(single_vendor="scripe")
    yield app
    emu = emulator_of(app)
    assert not emu.take_server_errors()
    emu.close()


def test_the_whole_scripe_flow_works_at_v1(root_app):
    client = root_app.test_client()
    auth = {"Authorization": f"Bearer {FULL}"}
    minted = client.post("/v1/uploads", json={"contentType": "text/plain"}, headers=auth)
    assert minted.status_code == 200
    upload = minted.json["data"]
    target = urlsplit(upload["uploadUrl"])
    assert target.path.startswith("/s3/")
    assert (
        client.put(f"{target.path}?{target.query}", data=b"root", headers={"Content-Type": "text/plain"}).status_code
        == 200
    )
    job = client.post(
        "/v1/sources", json={"type": "file", "projectId": "p", "uploadId": upload["id"]}, headers=auth
    ).json["data"]
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth).json["data"]["status"] == "DONE"


def test_the_spec_and_the_control_api_stay_reachable(root_app):
    client = root_app.test_client()
    assert client.get("/openapi.json").json["servers"][0]["url"] == "http://localhost/v1"
    health = client.get("/_emulator/health").json
    assert health["vendors"] == [{"name": "scripe", "baseUrl": "http://localhost/v1"}]


def test_the_prefixed_path_is_not_served_in_single_vendor_mode(root_app):
    assert root_app.test_client().get("/scripe/v1/health").status_code == 404


def test_errors_at_the_root_keep_scripes_envelope(root_app):
    response = root_app.test_client().post("/v1/uploads", json={})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"


def test_a_path_that_matches_no_route_is_answered_in_the_single_vendors_shape(root_app):
    client = root_app.test_client()
    for path in ("/scripe/v1/uploads", "/v2/uploads", "/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found", path
    assert client.get("/_emulator/nowhere").json["code"] == "NOT_FOUND"  # the control plane keeps its own

"""CORS for browser clients, the index at /, the journal viewer page, and Prometheus metrics."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import FULL, make_app

from upload_emulator.app import emulator_of

PAGE = "http://localhost:5173"
PREFLIGHT = {
    "Origin": PAGE,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.mark.parametrize("path", ["/scripe/v1/uploads", "/ctxfy/v1/upload/s3", "/adclear/v1/uploads", "/s3/bucket/key"])
def test_a_loopback_page_gets_its_preflight_answered_and_it_is_journaled(client, emu, path):
    response = client.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    [entry] = emu.journal.entries(operationId="preflight")
    assert (entry["method"], entry["path"], entry["status"], entry["origin"]) == ("OPTIONS", path, 204, PAGE)


def test_responses_to_an_allowed_origin_expose_what_a_client_reads(client):
    response = client.post(
        "/scripe/v1/uploads",
        json={"contentType": "text/plain"},
        headers={"Authorization": f"Bearer {FULL}", "Origin": PAGE},
    )
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    exposed = response.headers["Access-Control-Expose-Headers"]
    for name in ("ETag", "X-Request-Id", "X-RateLimit-Remaining", "Idempotent-Replayed", "Location", "RateLimit-Limit"):
        assert name in exposed
    error = client.post("/scripe/v1/uploads", json={}, headers={"Origin": PAGE})
    assert error.status_code == 401 and error.headers["Access-Control-Allow-Origin"] == PAGE


def test_an_origin_that_is_not_allowed_gets_403_access_forbidden_as_s3_answers(client, emu):
    foreign = {**PREFLIGHT, "Origin": "https://evil.example"}
    s3 = client.options("/s3/bucket/key", headers=foreign)
    assert s3.status_code == 403 and ET.fromstring(s3.data).findtext("Code") == "AccessForbidden"
    vendor = client.options("/scripe/v1/uploads", headers=foreign)
    assert vendor.status_code == 403 and "Access-Control-Allow-Origin" not in vendor.headers
    assert vendor.json["error"]["code"] == "CORS_FORBIDDEN"  # as docs/browser.md says
    page = (Path(__file__).resolve().parents[2] / "docs" / "browser.md").read_text()
    assert "`AccessForbidden`" in page and "`CORS_FORBIDDEN`" in page
    plain = client.get("/scripe/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert [e["status"] for e in emu.journal.entries(operationId="preflight")] == [403, 403]


def test_the_control_api_answers_no_other_origin(client):
    assert client.options("/_emulator/reset", headers=PREFLIGHT).status_code == 403
    assert "Access-Control-Allow-Origin" not in client.get("/_emulator/health", headers={"Origin": PAGE}).headers


def test_configured_origins_replace_the_loopback_default():
    app = make_app(cors_origins=("https://app.example.test",))
    client = app.test_client()
    assert (
        client.options("/scripe/v1/uploads", headers={**PREFLIGHT, "Origin": "https://app.example.test"}).status_code
        == 204
    )
    assert client.options("/scripe/v1/uploads", headers=PREFLIGHT).status_code == 403
    anywhere = make_app(cors_origins=("*",))
    assert (
        anywhere.test_client().options("/s3/b/k", headers={**PREFLIGHT, "Origin": "https://x.test"}).status_code == 204
    )
    for made in (app, anywhere):
        emulator_of(made).close()


def test_the_index_lists_what_is_served_and_a_wrong_base_path_is_journaled(client, emu):
    index = client.get("/").json
    assert {v["name"] for v in index["vendors"]} >= {"scripe", "ctxfy", "adclear", "streamloop"}
    assert index["viewer"].endswith("/_emulator/ui") and index["s3Endpoint"].endswith("/s3")
    assert client.get("/nowhere/v1/uploads").status_code == 404
    journaled = [(e["operationId"], e["path"], e["status"]) for e in emu.journal.entries()]
    assert ("index", "/", 200) in journaled and ("", "/nowhere/v1/uploads", 404) in journaled


def test_the_viewer_is_one_self_contained_page(client):
    page = client.get("/_emulator/ui")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "<script" in html and 'fetch("/_emulator"' in html and '"/requests?limit=200"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing fetched from elsewhere
    assert "innerHTML" not in html  # client-sent values only ever go in as text


def test_journal_entries_carry_headers_and_bodies_with_keys_redacted(client, emu):
    client.post("/scripe/v1/uploads", json={"contentType": "nope/nope"}, headers={"Authorization": f"Bearer {FULL}"})
    [entry] = emu.journal.entries(vendor="scripe")
    assert entry["requestHeaders"]["Authorization"].startswith("Bearer scripe_s") and FULL not in str(entry)
    assert entry["requestBody"] == '{"contentType": "nope/nope"}'
    assert '"unprocessable"' in entry["responseBody"]


def test_prometheus_metrics_parse_and_count_the_requests_made(client, emu):
    auth = {"Authorization": f"Bearer {FULL}"}
    for _ in range(3):
        client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth)
    client.post("/scripe/v1/uploads", json={}, headers={})
    minted = client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).json["data"]
    client.put(minted["uploadUrl"].split("localhost", 1)[1], data=b"12345", headers={"Content-Type": "text/plain"})
    client.post("/_emulator/faults", json={"vendor": "scripe", "operationId": "getHealth", "status": 503, "times": 1})
    client.get("/scripe/v1/health")
    text = client.get("/_emulator/metrics").get_data(as_text=True)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    requests = "upload_emulator_requests_total"
    assert samples[(requests, (("operation", "createUpload"), ("status", "200"), ("vendor", "scripe")))] == 4
    assert samples[(requests, (("operation", "createUpload"), ("status", "401"), ("vendor", "scripe")))] == 1
    assert samples[(requests, (("operation", "PutObject"), ("status", "200"), ("vendor", "s3")))] == 1
    assert samples[("upload_emulator_uploads", (("state", "pending"), ("vendor", "scripe")))] == 3
    assert samples[("upload_emulator_uploads", (("state", "uploaded"), ("vendor", "scripe")))] == 1
    assert samples[("upload_emulator_stored_bytes", (("vendor", "scripe"),))] == 5
    fault_samples = [v for (name, _), v in samples.items() if name == "upload_emulator_faults_fired_total"]
    assert fault_samples == [1]
    client.post("/_emulator/reset")
    after = client.get("/_emulator/metrics").get_data(as_text=True)
    assert "createUpload" not in after

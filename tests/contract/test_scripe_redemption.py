"""Redeeming an upload as a source or a knowledge document, and the jobs that follow."""

from __future__ import annotations

import pytest
from support import (
    FULL,
    GLOBEX,
    SOURCES_ONLY,
    Scripe,
    assert_conforms,
    assert_scripe_error,
    fixtures_dir_with,
    make_app,
)

from upload_emulator.app import emulator_of
from upload_emulator.services.records import REDEEMED


def test_a_file_source_returns_a_queued_job_that_is_done_at_the_next_read(app, scripe, emu):
    upload = scripe.uploaded(b"spoken words")
    created = scripe.redeem_source(upload["id"], name="Episode 12")
    assert created.status_code == 202
    assert_conforms(app, "createSource", created, vendor="scripe")
    job = created.json["data"]
    assert (job["type"], job["status"], job["result"]) == ("SOURCE_INGEST_FILE", "QUEUED", None)
    polled = scripe.job(job["id"])
    assert_conforms(app, "getJob", polled, vendor="scripe")
    done = polled.json["data"]
    assert done["status"] == "DONE"
    source = scripe.call("GET", f"/sources/{done['result']['sourceId']}")
    assert source.status_code == 200
    assert_conforms(app, "getSource", source, vendor="scripe")
    assert source.json["data"]["name"] == "Episode 12"
    assert source.json["data"]["fileType"] == "audio/mpeg"


def test_redeeming_uses_the_upload_up_and_its_object_goes_when_the_ingest_is_done(scripe, emu):
    upload = scripe.uploaded()
    record = emu.uploads.get(upload["id"])
    assert emu.storage.head(record.bucket, record.key) is not None
    job = scripe.redeem_source(upload["id"]).json["data"]
    assert record.state == REDEEMED
    assert emu.storage.head(record.bucket, record.key) is not None  # the job is still QUEUED
    assert scripe.job(job["id"]).json["data"]["status"] == "DONE"
    assert emu.storage.head(record.bucket, record.key) is None


def test_a_text_upload_gives_the_source_a_text_preview(scripe):
    upload = scripe.uploaded(b"Hello from a transcript.", content_type="text/plain")
    job = scripe.redeem_source(upload["id"]).json["data"]
    source_id = scripe.job(job["id"]).json["data"]["result"]["sourceId"]
    source = scripe.call("GET", f"/sources/{source_id}").json["data"]
    assert source["textPreview"] == "Hello from a transcript."
    assert source["hasFullText"] is True


def test_a_job_moves_queued_running_done_on_the_emulators_clock(tmp_path):
    def slow_jobs(data):
        data["profile"]["settings"]["jobs"] = {"queued_s": 10, "running_s": 20}

    app = make_app(fixtures_dir=fixtures_dir_with(tmp_path, "scripe", slow_jobs))
    emu = emulator_of(app)
    scripe = Scripe(app.test_client(), emu)
    emu.clock.freeze()
    job_id = scripe.redeem_source(scripe.uploaded()["id"]).json["data"]["id"]
    seen = [scripe.job(job_id).json["data"]["status"]]
    scripe.advance(10)
    running = scripe.job(job_id).json["data"]
    seen.append(running["status"])
    assert running["progress"]["progress"] == 0 and running["startedAt"] is not None
    scripe.advance(10)
    assert scripe.job(job_id).json["data"]["progress"]["progress"] == 0.5
    scripe.advance(10)
    done = scripe.job(job_id).json["data"]
    seen.append(done["status"])
    assert seen == ["QUEUED", "RUNNING", "DONE"]
    assert done["result"]["sourceId"].startswith("src_")
    assert not emu.take_server_errors()
    emu.close()


def test_a_text_source_is_created_synchronously(app, scripe):
    response = scripe.call("POST", "/sources", json={"type": "text", "projectId": "prj_1", "text": "hi", "name": "N"})
    assert response.status_code == 200
    assert_conforms(app, "createSource", response, vendor="scripe")
    assert response.json["data"]["status"] == "Done"
    again = scripe.call("GET", f"/sources/{response.json['data']['id']}")
    assert again.json == response.json


def test_a_knowledge_file_redeems_the_upload_as_a_kb_ingest_file_job(app, scripe, emu):
    upload = scripe.uploaded(b"%PDF-1.7", content_type="application/pdf")
    created = scripe.call("POST", "/knowledge", json={"type": "file", "uploadId": upload["id"]})
    assert created.status_code == 202
    assert_conforms(app, "createKnowledgeDocument", created, vendor="scripe")
    assert created.json["data"]["type"] == "KB_INGEST_FILE"
    done = scripe.job(created.json["data"]["id"]).json["data"]
    assert done["status"] == "DONE"
    assert done["result"]["documentId"].startswith("kb_")
    assert emu.uploads.get(upload["id"]).state == REDEEMED


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("text", {"text": "t"}), ("url", {"url": "https://x.test/a"}), ("youtube", {"url": "https://youtu.be/x"})],
)
def test_other_knowledge_types_are_jobs_too(app, scripe, kind, extra):
    created = scripe.call("POST", "/knowledge", json={"type": kind, **extra})
    assert created.status_code == 202
    assert_conforms(app, "createKnowledgeDocument", created, vendor="scripe")
    assert created.json["data"]["type"] == f"KB_INGEST_{kind.upper()}"


def test_knowledge_needs_the_knowledge_write_scope(scripe, emu):
    upload = scripe.uploaded()
    response = scripe.call("POST", "/knowledge", key=SOURCES_ONLY, json={"type": "file", "uploadId": upload["id"]})
    error = assert_scripe_error(response, 403, "scope_missing")
    assert error["details"]["required"] == ["knowledge:write"]
    assert emu.uploads.get(upload["id"]).state == "uploaded"


def _used(scripe):
    upload = scripe.uploaded()
    scripe.redeem_source(upload["id"])
    return upload["id"]


def _expired(scripe):
    upload = scripe.uploaded()
    scripe.advance(15 * 60 + 1)
    return upload["id"]


def _never_put(scripe):
    return scripe.mint().json["data"]["id"]


def _other_workspace(scripe):
    return scripe.uploaded(key=GLOBEX)["id"]


@pytest.mark.parametrize(
    "make_upload_id",
    [_used, _expired, _never_put, _other_workspace, lambda s: "upl_nope"],
    ids=["used", "expired", "never-put", "other-workspace", "unknown"],
)
def test_an_upload_that_cannot_be_used_is_422_unprocessable_and_changes_nothing(app, scripe, emu, make_upload_id):
    upload_id = make_upload_id(scripe)
    before = {r.id: r.state for r in emu.uploads.all()}
    for path, body in (
        ("/sources", {"type": "file", "projectId": "p", "uploadId": upload_id}),
        ("/knowledge", {"type": "file", "uploadId": upload_id}),
    ):
        response = scripe.call("POST", path, json=body)
        error = assert_scripe_error(response, 422, "unprocessable")
        assert error["details"]["param"] == "uploadId"
        assert_conforms(
            app, "createSource" if path == "/sources" else "createKnowledgeDocument", response, vendor="scripe"
        )
    assert {r.id: r.state for r in emu.uploads.all()} == before


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"type": "file", "projectId": "p"}, "uploadId"),
        ({"type": "text", "projectId": "p"}, "text"),
        ({"type": "video", "projectId": "p"}, None),
        ({"projectId": "p", "uploadId": "u"}, None),
    ],
)
def test_source_bodies_of_the_wrong_shape_are_400_invalid_request(app, scripe, body, missing):
    response = scripe.call("POST", "/sources", json=body)
    error = assert_scripe_error(response, 400, "invalid_request")
    if missing:
        assert missing in error["message"]
    assert_conforms(app, "createSource", response, vendor="scripe")


def test_another_workspaces_job_and_source_are_404_not_found(app, scripe):
    job_id = scripe.redeem_source(scripe.uploaded()["id"]).json["data"]["id"]
    source_id = scripe.job(job_id).json["data"]["result"]["sourceId"]
    for path, op in ((f"/jobs/{job_id}", "getJob"), (f"/sources/{source_id}", "getSource")):
        response = scripe.call("GET", path, key=GLOBEX)
        assert_scripe_error(response, 404, "not_found")
        assert_conforms(app, op, response, vendor="scripe")
        assert scripe.call("GET", path, key=FULL).status_code == 200


def test_unknown_jobs_and_sources_are_404_not_found(scripe):
    assert_scripe_error(scripe.call("GET", "/jobs/job_missing"), 404, "not_found")
    assert_scripe_error(scripe.call("GET", "/sources/src_missing"), 404, "not_found")


def test_a_bad_query_parameter_is_400_invalid_request_even_for_a_range_error(app, scripe):
    job_id = scripe.redeem_source(scripe.uploaded()["id"]).json["data"]["id"]
    response = scripe.call("GET", f"/jobs/{job_id}?wait_for_completion_ms=-5")
    error = assert_scripe_error(response, 400, "invalid_request")
    assert error["details"]["param"] == "wait_for_completion_ms"
    assert_conforms(app, "getJob", response, vendor="scripe")

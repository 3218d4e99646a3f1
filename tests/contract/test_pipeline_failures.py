"""When a handler misbehaves: a loud 500 in the vendor's shape, and nothing bad remembered."""

from __future__ import annotations

from support import FULL

from upload_emulator.api.call import Reply

KEYED = {"Authorization": f"Bearer {FULL}", "Idempotency-Key": "bug-1"}


def test_each_app_owns_its_handler_table(emu):
    from upload_emulator.vendors import scripe

    assert emu.vendors["scripe"].handlers is not scripe.HANDLERS
    assert emu.vendors["scripe"].handlers == scripe.HANDLERS


def _swap(emu, monkeypatch, operation_id, handler):
    original = emu.vendors["scripe"].handlers[operation_id]
    monkeypatch.setitem(emu.vendors["scripe"].handlers, operation_id, handler)
    return original


def test_an_unencodable_reply_is_a_recorded_500_and_frees_the_idempotency_key(client, emu, monkeypatch):
    original = _swap(emu, monkeypatch, "createUpload", lambda call: Reply(200, {"data": object()}))
    broken = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=KEYED)
    assert broken.status_code == 500 and broken.json["error"]["code"] == "internal_error"
    assert any("not JSON-able" in e for e in emu.take_server_errors())
    _swap(emu, monkeypatch, "createUpload", original)
    retried = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=KEYED)
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "false"


def test_a_reply_that_breaks_the_spec_is_a_500_in_strict_mode_and_is_not_replayed(client, emu, monkeypatch):
    original = _swap(emu, monkeypatch, "createUpload", lambda call: Reply(200, {"data": {"id": "not-an-upload"}}))
    broken = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=KEYED)
    assert broken.status_code == 500
    assert "createUpload 200" in broken.headers["X-Emulator-Reason"]
    assert emu.take_server_errors()
    _swap(emu, monkeypatch, "createUpload", original)
    retried = client.post("/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=KEYED)
    assert retried.status_code == 200 and retried.json["data"]["id"].startswith("upl_")


def test_an_exception_in_a_handler_is_a_500_without_a_traceback_in_the_body(client, emu, monkeypatch):
    def explode(call):
        raise RuntimeError("secret internals")

    _swap(emu, monkeypatch, "getHealth", explode)
    response = client.get("/scripe/v1/health")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert any("secret internals" in e for e in emu.take_server_errors())


def test_a_bug_on_the_s3_endpoint_is_a_recorded_500_in_s3_xml(client, emu, monkeypatch):
    import upload_emulator.s3.buckets

    def explode():
        raise RuntimeError("s3 internals")

    monkeypatch.setattr(upload_emulator.s3.buckets, "list_buckets", explode)
    response = client.get("/s3/")
    assert response.status_code == 500
    assert b"<Code>InternalError</Code>" in response.data and b"s3 internals" not in response.data
    assert any("s3 internals" in e for e in emu.take_server_errors())


def test_a_bug_outside_the_pipeline_on_a_vendor_path_is_a_500_in_the_vendors_shape(client, emu, monkeypatch):
    def explode(self, mount_url):
        raise RuntimeError("spec internals")

    monkeypatch.setattr("upload_emulator.openapi.spec.Spec.served_document", explode)
    response = client.get("/streamloop/openapi.json")
    assert response.status_code == 500
    assert response.json["code"] == "INTERNAL" and "spec internals" not in response.get_data(as_text=True)
    assert emu.take_server_errors()

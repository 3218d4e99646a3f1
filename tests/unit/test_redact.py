"""What a recording may hold of a secret: a fingerprint, never the secret; distinct keys stay distinct."""

from __future__ import annotations

from upload_emulator.drift import redact


def test_a_credential_header_keeps_its_scheme_word_and_becomes_a_fingerprint():
    one = redact.header_value("Authorization", "Bearer ctx_test_ada_main_key_0001")
    other = redact.header_value("Authorization", "Bearer ctx_test_bob_main_key_0004")
    assert one.startswith("Bearer redacted:") and "ada" not in one and one != other
    assert redact.header_value("X-API-Key", "sl_test_studio_api_key") == redact.fingerprint("sl_test_studio_api_key")
    assert redact.header_value("Content-Type", "application/json") == "application/json"


def test_a_key_in_a_body_and_any_value_equal_to_a_sent_credential_are_redacted():
    created = {"id": "key_1", "key": "ctx_live_s3cr3t_value", "keyPrefix": "ctx_live_s3c", "owner": {"token": "t0k"}}
    redacted = redact.body(created, secrets=set())
    assert redacted["key"] == redact.fingerprint("ctx_live_s3cr3t_value") and redacted["owner"]["token"].startswith(
        "redacted:"
    )
    assert redacted["id"] == "key_1" and redacted["keyPrefix"] == "ctx_live_s3c"
    echoed = redact.body({"note": "abc123", "list": ["abc123"]}, secrets={"abc123"})
    assert echoed == {"note": redact.fingerprint("abc123"), "list": [redact.fingerprint("abc123")]}


def test_a_presigned_urls_signature_and_credential_are_removed_wherever_it_appears():
    url = (
        "http://127.0.0.1:8080/s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261202%2Fus-east-1"
        "&X-Amz-Date=20261202T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123"
    )
    for shown in (redact.body({"uploadUrl": url}, set())["uploadUrl"], redact.text(f"see {url} now", set())):
        assert "abcdef0123" not in shown and "AKIA" not in shown and "X-Amz-Signature=redacted" in shown
        assert "X-Amz-Expires=900" in shown

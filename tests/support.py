"""Helpers the tests share: fixture keys, a Scripe actions helper, response assertions."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from upload_emulator.app import create_app, emulator_of
from upload_emulator.core.settings import Settings
from upload_emulator.openapi.checks import response_problems

FULL = "scripe_sk_test_acme_full_access"
SOURCES_ONLY = "scripe_sk_test_acme_sources_only"
READ_ONLY = "scripe_sk_test_acme_read_only"
REVOKED = "scripe_sk_test_acme_revoked_key"
EXPIRED = "scripe_sk_test_acme_expired_key"
GLOBEX = "scripe_sk_test_globex_full_access"
FREEBIE = "scripe_sk_test_freebie_plan_key"

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def multipart_etag(*parts: bytes) -> str:
    """S3's ETag of an object made of these parts, worked out from its definition (not the
    emulator's code): the MD5 of the parts' MD5 digests, "-", and how many there are."""
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, process, seconds: float = 20, log=None) -> None:
    """Poll a served emulator's health until it answers; fail if the process ends or time runs out."""
    import time

    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(f"{url}/_emulator/health", timeout=1)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline and process.poll() is None, log.read_text() if log else "not healthy"
            time.sleep(0.05)


def make_app(**settings):
    return create_app(Settings(strict=True, **settings))


def fixtures_dir_with(tmp_path: Path, vendor: str, change) -> Path:
    """A copy of a vendor's fixtures with `change(data)` applied, for --fixtures tests."""
    data = yaml.safe_load((FIXTURES / f"{vendor}.yaml").read_text())
    change(data)
    (tmp_path / f"{vendor}.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


@dataclass
class Scripe:
    """Scripe calls as a test reads them: mint, put, redeem, read back."""

    client: object
    emu: object
    base: str = "/scripe/v1"

    def call(self, method: str, path: str, key: str | None = FULL, headers=None, **kw):
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        return self.client.open(self.base + path, method=method, headers=sent, **kw)

    def mint(self, key: str | None = FULL, headers=None, **body):
        body.setdefault("contentType", "audio/mpeg")
        return self.call("POST", "/uploads", key, headers, json=body)

    def put(self, upload_url: str, data: bytes, content_type: str = "audio/mpeg", method: str = "PUT"):
        target = urlsplit(upload_url)
        return self.client.open(
            f"{target.path}?{target.query}", method=method, data=data, headers={"Content-Type": content_type}
        )

    def uploaded(self, data: bytes = b"episode bytes", content_type: str = "audio/mpeg", key: str = FULL) -> dict:
        minted = self.mint(key, contentType=content_type).json["data"]
        assert self.put(minted["uploadUrl"], data, content_type).status_code == 200
        return minted

    def redeem_source(self, upload_id: str, key: str = FULL, **extra):
        return self.call(
            "POST", "/sources", key, json={"type": "file", "projectId": "prj_1", "uploadId": upload_id, **extra}
        )

    def job(self, job_id: str, key: str = FULL):
        return self.call("GET", f"/jobs/{job_id}", key)

    def advance(self, seconds: float) -> None:
        self.emu.clock.advance(seconds)


def assert_conforms(app, operation_id: str, response, vendor: str | None = None) -> None:
    """The response is documented for this operation and matches its schema (and its required headers)."""
    emu = emulator_of(app)
    found = [
        (v, o)
        for v in emu.vendors.values()
        for o in v.spec.operations
        if o.operation_id == operation_id and vendor in (None, v.name)
    ]
    assert len(found) == 1, f"{operation_id} names {len(found)} operations; pass vendor="
    owner, op = found[0]
    body = (
        response.get_json(silent=True) if "json" in (response.content_type or "") else response.get_data(as_text=True)
    )
    problems = response_problems(op, response.status_code, response.content_type or "", body)
    assert not problems, problems
    documented = owner.spec.response_headers(op, response.status_code)
    missing = [name for name, required in documented.items() if required and name not in response.headers]
    assert not missing, f"{operation_id} {response.status_code} lacks required headers {missing}"


def assert_scripe_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert error["docs_url"].endswith(f"#{code}")
    return error


STUDIO_KEY = "sl_test_studio_api_key"
OTHER_KEY = "sl_test_other_api_key"
TOKEN_ALL = "slo_test_studio_all_scopes"
TOKEN_RW = "slo_test_studio_read_write"
TOKEN_READ = "slo_test_studio_read_only"
TOKEN_REVOKED = "slo_test_studio_revoked"


@dataclass
class Streamloop:
    """Streamloop calls as a test reads them; API key + workspace header unless told otherwise."""

    client: object
    base: str = "/streamloop/v1"

    @staticmethod
    def auth(key: str | None = STUDIO_KEY, workspace: str | None = "wksp_studio", token: str | None = None) -> dict:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif key is not None:
            headers["X-API-Key"] = key
        if workspace is not None:
            headers["X-Workspace-Id"] = workspace
        return headers

    def call(self, method: str, path: str, headers: dict | None = None, **kw):
        sent = self.auth() if headers is None else headers
        return self.client.open(self.base + path, method=method, headers=sent, **kw)

    def create(self, headers: dict | None = None, **body):
        body = {"mimeType": "video/mp4", "name": "clip.mp4", "type": "video", **body}
        return self.call("POST", "/uploads", headers, json=body)

    def upload_url(self, upload_id: str, headers: dict | None = None):
        return self.call("POST", f"/uploads/{upload_id}/upload-url", headers)

    def put(self, url: str, data: bytes, content_type: str = "video/mp4"):
        target = urlsplit(url)
        return self.client.put(f"{target.path}?{target.query}", data=data, headers={"Content-Type": content_type})

    def complete(self, upload_id: str, headers: dict | None = None):
        return self.call("POST", f"/uploads/{upload_id}/complete", headers)

    def uploaded(self, data: bytes = b"frames") -> dict:
        created = self.create().json
        assert self.put(self.upload_url(created["id"]).json, data).status_code == 200
        return created


def assert_problem(response, status: int, code: str) -> dict:
    """An RFC 7807 problem document with Streamloop's fields."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    problem = response.json
    assert problem["type"] == "about:blank"
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"] and problem["detail"]
    return problem


def raw_put(url: str, content_type: str, content_length: int, body: bytes) -> bytes:
    """PUT over a bare socket, declaring `content_length` but sending only `body`; returns what came back.

    For what real clients cannot do on purpose: stop mid-body, or declare more than they send.
    """
    target = urlsplit(url)
    with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
        sock.sendall(
            f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {content_length}\r\n\r\n".encode()
            + body
        )
        if len(body) < content_length:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while (chunk := sock.recv(65536)) and b"</Error>" not in received:
                received += chunk
        except OSError:
            pass
    return received


ADA = "ctx_test_ada_main_key_0001"
ADA_REVOKED = "ctx_test_ada_revoked_key_02"
ADA_EXPIRED = "ctx_test_ada_expired_key_03"
BOB = "ctx_test_bob_main_key_0004"
ADA_SPACE = "spc_ada_research"
BOB_SPACE = "spc_bob_notes"


@dataclass
class Ctxfy:
    """Ctxfy calls as a test reads them (Ada's key unless told otherwise)."""

    client: object
    base: str = "/ctxfy"

    def call(self, method: str, path: str, key: str | None = ADA, headers=None, **kw):
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        return self.client.open(self.base + path, method=method, headers=sent, **kw)

    def presign(self, key: str | None = ADA, **body):
        body = {"filename": "notes.txt", "contentType": "text/plain", "size": 5, **body}
        return self.call("POST", "/v1/upload/s3", key, json=body)

    def put(self, url: str, data: bytes, content_type: str = "text/plain"):
        target = urlsplit(url)
        return self.client.put(f"{target.path}?{target.query}", data=data, headers={"Content-Type": content_type})

    def uploaded(self, data: bytes = b"hello", content_type: str = "text/plain", key: str = ADA) -> dict:
        minted = self.presign(key, contentType=content_type, size=len(data)).json
        assert self.put(minted["uploadUrl"], data, content_type).status_code == 200
        return minted

    def source(self, space: str = ADA_SPACE, key: str = ADA, **body):
        return self.call("POST", f"/v1/spaces/{space}/sources", key, json=body)

    def file_source(self, file_key: str, space: str = ADA_SPACE, key: str = ADA, **instructions):
        return self.source(space, key, type="FILE", initial_data={"data": file_key}, instructions=instructions)


def assert_ctxfy_error(response, status: int, *fields: str) -> dict:
    """Ctxfy's envelope: reason phrase, message, numeric code, a detail per offending field."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["code"] == status and body["message"]
    assert body["error"] == {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}.get(
        status, body["error"]
    )
    named = [d["field"] for d in body.get("details", [])]
    assert set(fields) <= set(named), named
    assert ("requestId" in body) == (status >= 500)
    return body


ACME_WS = "43dc2a1c-3384-41b5-a6e9-3b2d607d0fae"
LEGAL_WS = "7b1e5f9a-2c4d-4e8f-9a1b-3c5d7e9f1a2b"
ADCLEAR_KEY = "adc_key_test_acme_marketing"
ADCLEAR_SESSION = "adc_sess_test_acme_user"
ADCLEAR_GLOBEX = "adc_key_test_globex"
ADCLEAR_REVOKED = "adc_key_test_acme_revoked"


def adclear_auth(key: str | None = ADCLEAR_KEY, user: str | None = "user_abc123", workspace: str | None = None) -> dict:
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if user is not None:
        headers["x-external-user-id"] = user
    if workspace is not None:
        headers["x-adclear-workspace-id"] = workspace
    return headers


@dataclass
class Adclear:
    """Adclear calls as a test reads them (the Acme API key and an end user unless told otherwise)."""

    client: object
    base: str = "/adclear"

    def call(self, method: str, path: str, headers: dict | None = None, **kw):
        sent = adclear_auth() if headers is None else headers
        return self.client.open(self.base + path, method=method, headers=sent, **kw)

    def initiate(self, headers: dict | None = None, **body):
        body = {"fileName": "brief.pdf", "fileSize": 10, "contentType": "application/pdf", **body}
        return self.call("POST", "/v1/uploads", headers, json=body)

    def chunk(self, upload_url: str, data: bytes, content_range: str, headers: dict | None = None):
        sent = {**(adclear_auth() if headers is None else headers), "Content-Range": content_range}
        return self.client.put(upload_url, data=data, headers=sent)

    def status(self, upload_url: str, headers: dict | None = None):
        return self.client.get(upload_url, headers=adclear_auth() if headers is None else headers)

    def completed(self, data: bytes = b"0123456789", headers: dict | None = None) -> dict:
        started = self.initiate(headers, fileSize=len(data)).json
        answer = self.chunk(started["uploadUrl"], data, f"bytes 0-{len(data) - 1}/{len(data)}", headers)
        assert answer.json["status"] == "completed", answer.json
        return started


def assert_adclear_error(response, status: int, code: str, *fields: str, detail_type: str = "field_error") -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["error"]["code"] == code and body["error"]["message"]
    assert len(body["correlationId"]) == 36
    details = body["error"].get("details", [])
    assert set(fields) <= {d["field"] for d in details}, details
    assert all(d["type"] == detail_type for d in details)
    return body

"""A handle on a running emulator, for tests: the control API as Python calls.

It talks to `/_emulator/` over HTTP with the standard library, so it works the same
against an in-process server (the pytest plugin) and one started elsewhere
(`EmulatorHandle("http://127.0.0.1:8080")`).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class EmulatorError(AssertionError):
    """The emulator had a server error (a bug) or refused a control call."""


class EmulatorHandle:
    def __init__(self, url: str, emulator=None) -> None:
        self.url = url.rstrip("/")
        self._emulator = emulator  # the in-process Emulator, when there is one

    # --- plumbing ---------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None, raw: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(f"{self.url}/_emulator{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as failed:
            raise EmulatorError(f"{method} /_emulator{path}: {failed.code} {failed.read().decode()}") from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    # --- where things are ---------------------------------------------------------------
    def health(self) -> dict:
        return self._call("GET", "/health")

    def base_url(self, vendor: str) -> str:
        """The vendor's API base, e.g. http://127.0.0.1:PORT/scripe/v1."""
        for mounted in self.health()["vendors"]:
            if mounted["name"] == vendor:
                return mounted["baseUrl"]
        raise EmulatorError(f"vendor {vendor!r} is not served here")

    @property
    def s3_endpoint(self) -> str:
        return self.health()["s3Endpoint"]

    def s3_client(self):
        """A boto3 S3 client with the emulator's credentials, for reading back stored bytes."""
        import boto3
        from botocore.config import Config

        from upload_emulator.core.settings import Settings

        settings = self._emulator.settings if self._emulator is not None else Settings()
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "total_max_attempts": 1},
            ),
        )

    # --- setting up -------------------------------------------------------------------
    def reset(self) -> None:
        self._call("POST", "/reset")

    def create_key(
        self,
        vendor: str,
        workspace: str = "ws_test",
        scopes: list[str] | None = None,
        status: str = "active",
        plan: str | None = None,
        kind: str = "api_key",
        expires_at: str | None = None,
    ) -> str:
        """A new key's secret. An unknown workspace is created; `plan` sets its plan."""
        body: dict[str, Any] = {
            "vendor": vendor,
            "workspace": workspace,
            "scopes": scopes or [],
            "status": status,
            "kind": kind,
        }
        if plan is not None:
            body["plan"] = plan
        if expires_at is not None:
            body["expiresAt"] = expires_at
        return self._call("POST", "/keys", body)["key"]

    def advance_clock(self, seconds: float) -> str:
        return self._call("POST", "/clock", {"advanceSeconds": seconds})["now"]

    def freeze_clock(self, frozen: bool = True) -> str:
        return self._call("POST", "/clock", {"frozen": frozen})["now"]

    def fault(
        self,
        vendor: str,
        operation_id: str | None = None,
        status: int | None = None,
        *,
        code: str | None = None,
        times: int | None = None,
        delay_ms: int | None = None,
        probability: float | None = None,
        close_after_bytes: int | None = None,
        path: str | None = None,
    ) -> str:
        """Inject a fault (see POST /_emulator/faults); returns its id."""
        fields = {
            "vendor": vendor,
            "operationId": operation_id,
            "status": status,
            "code": code,
            "times": times,
            "delayMs": delay_ms,
            "probability": probability,
            "closeAfterBytes": close_after_bytes,
            "path": path,
        }
        return self._call("POST", "/faults", {k: v for k, v in fields.items() if v is not None})["id"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict]:
        """Every fault, each with how often it has `fired` and how many times `remaining`."""
        return self._call("GET", "/faults")["data"]

    def fault_info(self, fault_id: str) -> dict:
        """One fault as it stands (e.g. `fault_info(fid)["fired"]`)."""
        for rule in self.faults():
            if rule["id"] == fault_id:
                return rule
        raise EmulatorError(f"no fault {fault_id}")

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def outcome(
        self,
        vendor: str,
        kind: str,
        result: str,
        *,
        match: dict | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        times: int | None = None,
    ) -> str:
        """Decide how the next matching async work ends (see POST /_emulator/outcomes); returns its id."""
        fields = {
            "vendor": vendor,
            "kind": kind,
            "result": result,
            "match": match,
            "errorCode": error_code,
            "errorMessage": error_message,
            "times": times,
        }
        return self._call("POST", "/outcomes", {k: v for k, v in fields.items() if v is not None})["id"]

    def revoke_key(self, key_id: str) -> dict:
        """Revoke any vendor's key at once (by its id, as `keys()` or the control API show it)."""
        return self._call("PATCH", f"/keys/{key_id}", {"status": "revoked"})

    def expire_key(self, key_id: str, at: str | None = None) -> dict:
        """Set a key's expiry (ISO 8601; default: now on the emulator's clock)."""
        return self._call("PATCH", f"/keys/{key_id}", {"expiresAt": at or self._call("GET", "/clock")["now"]})

    def keys(self, vendor: str | None = None) -> list[dict]:
        return self._call("GET", "/keys" + (f"?vendor={vendor}" if vendor else ""))["data"]

    def create_space(self, vendor: str, workspace: str, name: str = "Space") -> str:
        """A new space (Ctxfy) in `workspace`; returns its id."""
        return self._call("POST", "/spaces", {"vendor": vendor, "workspace": workspace, "name": name})["id"]

    # --- looking -------------------------------------------------------------------------
    def uploads(self, vendor: str | None = None, state: str | None = None) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in (("vendor", vendor), ("state", state)) if v)
        return self._call("GET", "/uploads" + (f"?{query}" if query else ""))["data"]

    def upload(self, upload_id: str) -> dict:
        """One upload record: state, size, sha256, bucket, key, …"""
        return self._call("GET", f"/uploads/{upload_id}")

    def deliveries(self, vendor: str | None = None) -> list[dict]:
        """Outbound callbacks (Ctxfy postbacks) with their bodies and attempts."""
        return self._call("GET", "/deliveries" + (f"?vendor={vendor}" if vendor else ""))["data"]

    def wait_for_request(
        self,
        vendor: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        timeout: float = 5.0,
    ) -> dict:
        """The first journal entry that matches, polling until `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(vendor=vendor, operation_id=operation_id, status=status)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise EmulatorError(f"no request matching vendor={vendor} operationId={operation_id} status={status}")
            time.sleep(0.02)

    def content(self, upload_id: str) -> bytes:
        """The bytes stored for an upload, exactly as PUT."""
        return self._call("GET", f"/uploads/{upload_id}/content", raw=True)

    def requests(
        self,
        vendor: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """The request journal, oldest first (keys redacted)."""
        pairs = (("vendor", vendor), ("operationId", operation_id), ("status", status), ("limit", limit))
        query = "&".join(f"{k}={v}" for k, v in pairs if v is not None)
        return self._call("GET", "/requests" + (f"?{query}" if query else ""))["data"]

    def raise_server_errors(self) -> None:
        """Fail loudly if the emulator hit a bug (a 500 or a spec violation) since the last check."""
        if self._emulator is None:
            return
        errors = self._emulator.take_server_errors()
        if errors:
            raise EmulatorError("upload-emulator recorded server errors:\n" + "\n".join(errors))


@contextmanager
def running(settings=None) -> Iterator[EmulatorHandle]:
    """A live emulator on a free loopback port for the duration of a `with` block, outside pytest.

    from upload_emulator.testing import running

    with running() as emulator:           # unittest, a script, any runner
        base = emulator.base_url("scripe")
        ...
    """
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.core.settings import Settings
    from upload_emulator.serving.server import LiveServer

    app = create_app(settings or Settings(strict=True))
    server = LiveServer(app, port=0).start()
    try:
        yield EmulatorHandle(server.url, emulator_of(app))
    finally:
        server.stop()
        emulator_of(app).close()

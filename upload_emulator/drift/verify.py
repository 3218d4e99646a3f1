"""`upload-emulator verify FILE`: replay a recording against a fresh in-process emulator of its
vendor and say where the emulator, or the vendor's spec, has drifted from the vendor.

Requests are replayed in order, at the vendor's own paths (single-vendor mode). Ids and URLs
the vendor answered earlier are replaced by the emulator's own where a later request uses them;
each recorded credential (a fingerprint) is a fixture key: `--credential FINGERPRINT=KEY`, or
else the fixture key with the most scopes of the kind that header carries.

- emulator drift: status, documented headers, body fields (changing values by shape);
- spec drift: the recorded answer held to specs/<vendor>.yaml.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException

from upload_emulator.app import create_app, emulator_of
from upload_emulator.blobs.body import stage
from upload_emulator.core.settings import Settings
from upload_emulator.drift import compare, redact
from upload_emulator.drift.recording import Recording
from upload_emulator.openapi.checks import response_problems


@dataclass
class Outcome:
    index: int
    method: str
    path: str
    status: int
    emulated_status: int
    emulator_drift: list[compare.Drift] = field(default_factory=list)
    spec_drift: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.emulator_drift or self.spec_drift)

    def line(self) -> str:
        mark = "DRIFT" if self.drifted else "ok   "
        answers = f"vendor {self.status}, emulator {self.emulated_status}"
        return f"{mark} #{self.index:<3} {self.method} {self.path} -> {answers}"

    def details(self) -> list[str]:
        return [f"    emulator: {d}" for d in self.emulator_drift] + [f"    spec: {p}" for p in self.spec_drift]


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _headers(pairs: list[dict]) -> dict[str, str]:
    return {p["name"].lower(): p["value"] for p in pairs}


class Replayer:
    def __init__(self, recorded: Recording, credentials: dict[str, str]) -> None:
        self.recorded = recorded
        self.app = create_app(Settings(vendors=(recorded.vendor,), single_vendor=recorded.vendor))
        self.emu = emulator_of(self.app)
        self.vendor = self.emu.vendors[recorded.vendor]
        self.client = self.app.test_client()
        self.credentials = dict(credentials)
        self.substitutions: dict[str, str] = {}

    def close(self) -> None:
        self.emu.close()

    def fixture_key(self, header: str) -> str:
        """The fixture key with the most scopes, of a kind this header's scheme takes."""
        schemes = self.vendor.spec.security_schemes
        kinds_by_scheme = self.vendor.profile.auth.scheme_kinds
        names = [
            name
            for name, scheme in schemes.items()
            if (scheme.get("type") == "apiKey" and scheme.get("name", "").lower() == header)
            or (header == "authorization" and scheme.get("type") in ("http", "oauth2", "openIdConnect"))
        ]
        kinds = {kinds_by_scheme.get(name, "api_key") for name in names} or {"api_key"}
        keys = [k for k in self.emu.keys.all(self.vendor.name) if not k.is_revoked and k.expires_at is None]
        fitting = [k for k in keys if k.kind in kinds] or keys
        return max(fitting, key=lambda k: len(k.scopes)).secret

    def _credential(self, name: str, value: str) -> str:
        scheme, _, rest = value.partition(" ")
        token = rest if name == "authorization" and rest else value
        if not token.startswith(redact.PREFIX):
            return value
        if token not in self.credentials:
            self.credentials[token] = self.fixture_key(name)
        secret = self.credentials[token]
        return f"{scheme} {secret}" if name == "authorization" and rest else secret

    def _substitute(self, text: str) -> str:
        for recorded, emulated in sorted(self.substitutions.items(), key=lambda p: -len(p[0])):
            text = text.replace(recorded, emulated)
        return text

    def replay(self, index: int, entry: dict) -> Outcome:
        request, response = entry["request"], entry["response"]
        target = urlsplit(request["url"])
        path = self._substitute(target.path + (f"?{target.query}" if target.query else ""))
        headers = {}
        for pair in request.get("headers", []):
            name = pair["name"].lower()
            if name in ("host", "content-length"):
                continue
            value = self._credential(name, pair["value"]) if name in redact.CREDENTIAL_HEADERS else pair["value"]
            headers[pair["name"]] = self._substitute(value)
        body = request.get("postData", {}).get("text")
        data = self._substitute(body).encode() if body else None
        before = {r.id: r.put_until for r in self.emu.uploads.all(self.vendor.name)}
        answer = self.client.open(path, method=request["method"], headers=headers, data=data)
        self._upload_bytes(before)
        emulated_body = _json(answer.get_data(as_text=True))
        recorded_body = _json(response.get("content", {}).get("text"))
        outcome = Outcome(index, request["method"], target.path, response["status"], answer.status_code)
        if answer.status_code != response["status"]:
            outcome.emulator_drift.append(compare.Drift("status", response["status"], answer.status_code))
        else:
            outcome.emulator_drift += compare.bodies(recorded_body, emulated_body)
        emulated_headers = {k.lower(): v for k, v in answer.headers.items()}
        outcome.emulator_drift += compare.headers(_headers(response.get("headers", [])), emulated_headers)
        for recorded, emulated in compare.pairs_of_values(recorded_body, emulated_body):
            self.substitutions[recorded] = emulated
            path_only = urlsplit(recorded).path  # a URL's path is what a later request sends
            if path_only and path_only != recorded:
                self.substitutions.setdefault(path_only, urlsplit(emulated).path)
        outcome.spec_drift = self._spec_drift(request["method"], target.path, response, recorded_body)
        return outcome

    # The most a stand-in upload is given: a presigned PUT is never recorded (it goes to the
    # vendor's storage), so each upload the replay mints gets bytes as its client's PUT gave it.
    FILL_MAX = 64 * 1024  # a declared size up to this is filled exactly (Ctxfy's), a cap is not

    def _upload_bytes(self, before: dict[str, Any]) -> None:
        """Store bytes for each upload the last request gave a presigned URL, as the recorded client
        PUT them to the vendor's storage (a recording cannot show those PUTs)."""
        for record in self.emu.uploads.all(self.vendor.name):
            minted = record.put_until is not None and before.get(record.id, "new") != record.put_until
            if not minted or record.state != "pending":
                continue
            size = record.max_size_bytes if record.max_size_bytes <= self.FILL_MAX else 1
            staged = stage(iter([b"x" * size]), size)
            self.emu.uploads.accept_bytes(record, partial(self._commit, record, staged), self.emu.clock.now())

    def _commit(self, record, staged):
        return self.emu.storage.commit(record.bucket, record.key, staged, record.content_type)

    def _spec_drift(self, method: str, path: str, response: dict, body: Any) -> list[str]:
        adapter = self.app.url_map.bind("emulator.local")
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            return [f"{method} {path} is not an operation of specs/{self.vendor.name}.yaml"]
        operation_id = endpoint.rpartition(".")[2]
        op = next((o for o in self.vendor.spec.operations if o.operation_id == operation_id), None)
        if op is None:
            return []
        mime = response.get("content", {}).get("mimeType", "")
        return response_problems(op, response["status"], mime, body if "json" in mime else None)


def verify(recorded: Recording, credentials: dict[str, str]) -> tuple[list[Outcome], dict[str, str]]:
    """Each exchange's outcome, and which fixture key stood for each recorded credential."""
    replayer = Replayer(recorded, credentials)
    try:
        return [replayer.replay(n, entry) for n, entry in enumerate(recorded.entries)], replayer.credentials
    finally:
        replayer.close()

"""One request to a spec operation as the pipeline, its handler and the journal see it: the `Call`,
and what a handler answers, the `Reply`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Request

from upload_emulator.core.profiles import ApiKey, VendorProfile, Workspace
from upload_emulator.openapi.spec import Operation
from upload_emulator.services.emulator import Emulator, Vendor


@dataclass
class Reply:
    """What a handler answers: JSON-able `body`, raw `bytes`, or an iterable of chunks."""

    status: int
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    code: str = ""  # the error code, for the journal


@dataclass
class Call:
    emu: Emulator
    vendor: Vendor
    op: Operation
    request: Request
    path_params: dict[str, str]
    request_id: str
    now: datetime
    started: float
    # Set by the credential steps; None on public operations. Handlers of authenticated
    # operations read `key` and `workspace`, which are never None there.
    found_key: ApiKey | None = None
    found_workspace: Workspace | None = None
    scheme: str | None = None
    version: str | None = None
    raw_body: bytes = b""
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    idempotency: tuple[tuple, Any] | None = None
    replayed: bool | None = None
    invalid: bool = False  # the spec refused the request (check_request)
    fault: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)  # added to every reply (rate limits)

    @property
    def profile(self) -> VendorProfile:
        return self.vendor.profile

    @property
    def key(self) -> ApiKey:
        if self.found_key is None:
            raise RuntimeError(f"{self.op.operation_id} read the caller's key but the operation is public")
        return self.found_key

    @property
    def workspace(self) -> Workspace:
        if self.found_workspace is None:
            raise RuntimeError(f"{self.op.operation_id} read the caller's workspace but the operation is public")
        return self.found_workspace


def new_request_id(prefix: str = "req_") -> str:
    """A request id; the prefix `uuid` asks for a bare UUID (Adclear's correlationId is one)."""
    if prefix == "uuid":
        return str(uuid.uuid4())
    return prefix + secrets.token_hex(12)

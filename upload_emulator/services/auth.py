"""Keys, workspaces and the checks made on every authenticated call.

Keys start from the fixtures and can be added at run time (`POST /_emulator/keys`). A key
belongs to one vendor and one workspace; its secret is never logged in full (`redact`).
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import replace
from datetime import datetime

from upload_emulator.core import errors
from upload_emulator.core.errors import ApiError
from upload_emulator.core.profiles import ApiKey, VendorProfile, Workspace, World
from upload_emulator.core.retention import DEFAULT_RETAIN, Cap


def redact(secret: str | None) -> str:
    """Enough of a key to recognise it in a log, never enough to use it."""
    if not secret:
        return ""
    if len(secret) <= 12:
        return "…" + secret[-2:]
    return f"{secret[:8]}…{secret[-4:]}"


class KeyStore:
    """All vendors' keys and workspaces; `reset` returns to the fixtures."""

    def __init__(self, worlds: dict[str, World], retain: int = DEFAULT_RETAIN) -> None:
        self._worlds = worlds
        self._lock = threading.Lock()
        self._cap = Cap("created keys", retain)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._keys: dict[tuple[str, str], ApiKey] = {
                (k.vendor, k.secret): k for w in self._worlds.values() for k in w.keys
            }
            self._fixture_keys = frozenset(self._keys)
            self._workspaces: dict[tuple[str, str], Workspace] = {
                (vendor, ws.id): ws for vendor, w in self._worlds.items() for ws in w.workspaces
            }

    def find(self, vendor: str, secret: str) -> ApiKey | None:
        return self._keys.get((vendor, secret))

    def workspace(self, vendor: str, workspace_id: str) -> Workspace | None:
        return self._workspaces.get((vendor, workspace_id))

    def all(self, vendor: str | None = None) -> list[ApiKey]:
        return [k for (v, _), k in self._keys.items() if vendor in (None, v)]

    def create_key(
        self,
        vendor: str,
        workspace: str,
        scopes: list[str] | None = None,
        status: str = "active",
        plan: str | None = None,
        expires_at: datetime | None = None,
        kind: str = "api_key",
        description: str = "",
        created_at: datetime | None = None,
    ) -> ApiKey:
        """Mint a key; an unknown workspace is created, and `plan` sets the workspace's plan."""
        profile = self._worlds[vendor].profile
        prefix = profile.auth.prefix_for(kind)
        secret = prefix + secrets.token_hex(16)
        key = ApiKey(
            id="key_" + secrets.token_hex(8),
            secret=secret,
            vendor=vendor,
            workspace=workspace,
            scopes=frozenset(scopes or ()),
            status=status,
            expires_at=expires_at,
            kind=kind,
            description=description,
            created_at=created_at,
        )
        with self._lock:
            current = self._workspaces.get((vendor, workspace))
            if current is None:
                current = Workspace(workspace, workspace, plan or profile.auth.default_plan)
            elif plan is not None:
                current = replace(current, plan=plan)
            self._workspaces[(vendor, workspace)] = current
            self._keys[(vendor, secret)] = key
            self._cap.trim(self._keys, self._fixture_keys)
        return key

    def by_id(self, vendor: str, key_id: str) -> ApiKey | None:
        return next((k for k in self.all(vendor) if k.id == key_id), None)

    def change(self, vendor: str, key_id: str, **changes) -> ApiKey | None:
        """Replace a key's fields (status, expires_at, revoked_at, …); None when there is no such key."""
        with self._lock:
            found = next((k for (v, _), k in self._keys.items() if v == vendor and k.id == key_id), None)
            if found is None:
                return None
            changed = replace(found, **changes)
            self._keys[(vendor, found.secret)] = changed
        return changed

    def revoke(self, vendor: str, key_id: str, now: datetime) -> ApiKey | None:
        """Revoke at once (a revoked key stays revoked: the first revocation time is kept)."""
        current = self.by_id(vendor, key_id)
        if current is None or current.is_revoked:
            return current
        return self.change(vendor, key_id, status="revoked", revoked_at=now)


def _http_word(scheme: dict) -> str | None:
    """The word before the token in `Authorization` for this scheme ("Bearer", "Token", …), if any."""
    if scheme.get("type") == "oauth2":
        return "Bearer"
    if scheme.get("type") == "http" and scheme.get("scheme"):
        word = str(scheme["scheme"])
        return word[:1].upper() + word[1:]
    return None


def credential_from(headers, schemes: dict[str, dict], scheme_names: list[str]) -> tuple[str, str]:
    """The (scheme, token) a request authenticates with, per the spec's security schemes.

    The `Authorization` word (Bearer, Token, …) comes from the spec's `http` scheme, so a
    vendor with another word needs no code. A missing or malformed credential is
    UNAUTHENTICATED: the caller did not say who it is.
    """
    hints = []
    for name in scheme_names:
        scheme = schemes.get(name) or {}
        word = _http_word(scheme)
        if word is not None:
            hints.append(f"Authorization: {word} <key>")
            value = headers.get("Authorization")
            if value is None:
                continue
            kind, _, token = value.strip().partition(" ")
            if kind.lower() != word.lower() or not token.strip():
                raise ApiError(errors.UNAUTHENTICATED, f"The Authorization header must be '{word} <key>'.")
            return name, token.strip()
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            hints.append(f"{scheme['name']}: <key>")
            value = headers.get(scheme["name"])
            if value:
                return name, value.strip()
    hint = " or ".join(dict.fromkeys(hints)) or "credentials"
    raise ApiError(errors.UNAUTHENTICATED, f"No credentials were sent. Pass {hint}.")


def authenticate(
    profile: VendorProfile, store: KeyStore, token: str, now: datetime, scheme: str | None = None
) -> tuple[ApiKey, Workspace]:
    """The key and workspace behind `token`, or the vendor's 401 for why not."""
    if not re.match(profile.auth.key_pattern, token):
        raise ApiError(errors.INVALID_CREDENTIALS, "The API key is malformed.")
    key = store.find(profile.name, token)
    if key is None:
        raise ApiError(errors.INVALID_CREDENTIALS, "The API key is not recognised.")
    expected_kind = profile.auth.scheme_kinds.get(scheme or "")
    if expected_kind is not None and key.kind != expected_kind:
        raise ApiError(errors.INVALID_CREDENTIALS, f"That credential is not valid for {scheme}.")
    if key.is_revoked:
        raise ApiError(errors.KEY_REVOKED, "The API key has been revoked.")
    if key.expires_at is not None and now >= key.expires_at:
        raise ApiError(errors.KEY_EXPIRED, f"The API key expired at {key.expires_at.isoformat()}.")
    workspace = store.workspace(profile.name, key.workspace)
    if workspace is None:  # a key whose workspace vanished is as good as unknown
        raise ApiError(errors.INVALID_CREDENTIALS, "The API key's workspace no longer exists.")
    return key, workspace


def select_workspace(profile: VendorProfile, store: KeyStore, key: ApiKey, asked: str | None) -> Workspace:
    """The workspace a call acts in: the one the header names (if the key's user belongs), else the key's own."""
    rules = profile.auth
    if asked is None:
        if key.kind in rules.workspace_header_required_for:
            raise ApiError(errors.WORKSPACE_REQUIRED, f"Send {rules.workspace_header} to name the workspace.")
        asked = key.workspace
    workspace = store.workspace(profile.name, asked) if asked in key.workspaces else None
    if workspace is None:
        raise ApiError(errors.WORKSPACE_FORBIDDEN, f"You are not a member of workspace {asked}.")
    return workspace


def check_plan(profile: VendorProfile, workspace: Workspace) -> None:
    eligible = profile.auth.eligible_plans
    if eligible is not None and workspace.plan not in eligible:
        raise ApiError(
            errors.PLAN_NOT_ELIGIBLE,
            f"The workspace's plan ({workspace.plan}) does not include API access.",
        )


def check_scopes(security: list[dict[str, list[str]]], scheme: str, key: ApiKey) -> None:
    """Pass when any one security requirement for `scheme` is met by the key's scopes."""
    alternatives = [set(req.get(scheme, ())) for req in security if scheme in req]
    if not alternatives or any(need <= key.scopes for need in alternatives):
        return
    required = sorted({scope for need in alternatives for scope in need})
    raise ApiError(
        errors.SCOPE_MISSING,
        f"Token lacks the required scope. Need one of: {', '.join(required)}.",
        extra={"required": required},
    )

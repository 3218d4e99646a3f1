"""Turn `fixtures/<vendor>.yaml` into frozen profiles and the initial world.

A profile is everything about a vendor that is data: its dialect, how it authenticates,
versions, idempotency rules, the status and code of each error kind, and vendor settings
(upload caps, TTLs, …). Workspaces and keys are the world the emulator starts with and
returns to on reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from upload_emulator.core import errors, fixture_settings
from upload_emulator.core.clock import parse_iso
from upload_emulator.core.datafiles import DataFileError, fixture_path, load_yaml, parse_yaml
from upload_emulator.core.dialects import SHARED, Dialect
from upload_emulator.core.errors import ErrorMapping

CONTROL_PLANE = "_emulator"  # the control plane's name where a vendor's would stand (it is routed like one)


@dataclass(frozen=True)
class RateLimitProfile:
    """A vendor's budgets: one per caller, or per caller and operation where `operations` says so.

    `plans` gives the limit by the caller's plan (Ctxfy: FREE 10, PRO 100); `operations`
    gives an operation a budget of its own, or none at all with null (Adclear: initiation
    30/min, chunk PUTs unlimited).
    """

    limit: int | None
    window_s: int = 60
    # "ietf": RateLimit-* on every response (Streamloop). "x": X-RateLimit-* (Ctxfy). "none".
    headers: str = "ietf"
    plans: dict[str, int] = field(default_factory=dict)
    operations: dict[str, int | None] = field(default_factory=dict)
    # Who shares a budget: the credential sent ("credential"), or every key of a workspace ("workspace").
    per: str = "credential"

    def budget(self, operation_id: str, plan: str | None) -> tuple[int | None, str]:
        """(limit, bucket name) for one request; a None limit means it is not counted."""
        if operation_id in self.operations:
            return self.operations[operation_id], operation_id
        if plan is not None and plan in self.plans:
            return self.plans[plan], "*"
        return self.limit, "*"


@dataclass(frozen=True)
class AuthProfile:
    key_pattern: str = r"^.+$"
    new_key_prefix: str = "key_"
    new_oauth_prefix: str = "oauth_"
    # Other kinds of credential the control API may mint, by kind → secret prefix
    # (Adclear's session tokens, Scripe's live keys).
    kind_prefixes: dict[str, str] = field(default_factory=dict)

    def prefix_for(self, kind: str) -> str:
        if kind in self.kind_prefixes:
            return self.kind_prefixes[kind]
        return self.new_oauth_prefix if kind == "oauth" else self.new_key_prefix

    eligible_plans: frozenset[str] | None = None  # None: every plan may call the API
    default_plan: str = "DEFAULT"
    # security scheme name → the key kind it accepts (absent: any kind)
    scheme_kinds: dict[str, str] = field(default_factory=dict)
    # a header naming the workspace to act in, and the key kinds that must send it
    workspace_header: str | None = None
    workspace_header_required_for: frozenset[str] = frozenset()


@dataclass(frozen=True)
class VersionProfile:
    header: str
    accepted: tuple[str, ...]
    default: str | None  # None: the header is required


@dataclass(frozen=True)
class IdempotencyProfile:
    header: str = "Idempotency-Key"
    replay_header: str = "Idempotency-Replayed"
    key_pattern: str = r"^.{1,255}$"
    window_s: int = 86400
    store_client_errors: bool = True
    # Whether a request the spec refuses (a validation 4xx) is stored and replayed as well.
    store_validation_errors: bool = False
    conflict_kind: str = "IDEMPOTENCY_CONFLICT"


@dataclass(frozen=True)
class FieldRule:
    """The error for one body field failing one schema keyword (a business rule the schema states)."""

    kind: str
    code: str | None = None  # the vendor's own code, where it has one for this rule


@dataclass(frozen=True)
class ValidationProfile:
    default_kind: str = "MALFORMED_REQUEST"
    # jsonschema keyword → error kind, for the vendors that answer range errors with 422.
    keyword_kinds: dict[str, str] = field(default_factory=dict)
    # "field/keyword" → the rule's own error, e.g. Streamloop's mimeType/enum → UNSUPPORTED_TYPE.
    field_rules: dict[str, FieldRule] = field(default_factory=dict)
    # Answer a query parameter the spec does not declare as an error (Streamloop does).
    reject_unknown_query: bool = False

    def error_for(self, field: str | None, keyword: str, in_body: bool) -> tuple[str, str | None]:
        """The error kind (and the code, if the vendor has its own) for a failed schema check."""
        if not in_body:
            return self.default_kind, None
        rule = self.field_rules.get(f"{field}/{keyword}")
        if rule is not None:
            return rule.kind, rule.code
        return self.keyword_kinds.get(keyword, self.default_kind), None


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    plan: str


@dataclass(frozen=True)
class ApiKey:
    id: str
    secret: str
    vendor: str
    workspace: str
    scopes: frozenset[str] = frozenset()
    status: str = "active"  # active | revoked
    expires_at: datetime | None = None
    kind: str = "api_key"
    description: str = ""
    member_of: frozenset[str] = frozenset()  # other workspaces the key's user belongs to
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_revoked(self) -> bool:
        return self.status == "revoked"

    @property
    def workspaces(self) -> frozenset[str]:
        return self.member_of | {self.workspace}


@dataclass(frozen=True)
class VendorProfile:
    name: str
    dialect: str  # the name the fixture gives
    spec: str
    shape: Dialect | None = None  # that dialect (None: a shared one, found by name)
    docs_url: str | None = None
    request_id_prefix: str = "req_"  # or "uuid"
    # Request headers copied into journal entries (Adclear's audit headers), as `header:<name>`.
    journal_headers: tuple[str, ...] = ()
    auth: AuthProfile = AuthProfile()
    versions: VersionProfile | None = None
    idempotency: IdempotencyProfile | None = None
    validation: ValidationProfile = ValidationProfile()
    max_json_body_bytes: int | None = None
    rate_limit: RateLimitProfile | None = None
    error_map: dict[str, ErrorMapping] = field(default_factory=dict)
    s3_errors: dict[str, ErrorMapping] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def error_for(self, kind: errors.ErrorKind) -> ErrorMapping:
        mapped = self.error_map.get(kind.name)
        return mapped or ErrorMapping(kind.status, kind.name)

    def s3_error_for(self, kind: errors.ErrorKind) -> ErrorMapping | None:
        return self.s3_errors.get(kind.name)


@dataclass(frozen=True)
class World:
    profile: VendorProfile
    workspaces: tuple[Workspace, ...]
    keys: tuple[ApiKey, ...]
    # Vendor resources the world starts with (Ctxfy's spaces): (kind, workspace, fields).
    resources: tuple[tuple[str, str, dict[str, Any]], ...] = ()


def _mappings(raw: dict | None) -> dict[str, ErrorMapping]:
    return {name: ErrorMapping(int(m["status"]), str(m["code"])) for name, m in (raw or {}).items()}


def _dialect(vendor: str, name: object, declared: Mapping[str, Dialect]) -> Dialect:
    """The shape a fixture names; a misspelt one must stop start-up, not turn every later error into an HTML 500."""
    dialects = {**SHARED, **declared}
    if not isinstance(name, str) or name not in dialects:
        raise ValueError(
            f"fixtures for {vendor}: dialect {name!r} is not one of {', '.join(sorted(dialects))} "
            f"(a vendor's own dialect goes in DIALECTS of upload_emulator/vendors/<name>.py)"
        )
    return dialects[name]


def _profile(vendor: str, raw: dict, declared: Mapping[str, Dialect]) -> VendorProfile:
    auth = raw.get("auth") or {}
    versions = raw.get("versions")
    idem = raw.get("idempotency")
    validation = raw.get("validation") or {}
    validation_kinds = [
        validation.get("default_kind", "MALFORMED_REQUEST"),
        *(validation.get("keyword_kinds") or {}).values(),
        *(rule["kind"] for rule in (validation.get("field_rules") or {}).values()),
    ]
    for name in [*(raw.get("errors") or {}), *validation_kinds]:
        if not hasattr(errors, name):
            raise ValueError(f"fixtures for {vendor}: unknown error kind {name!r}")
    shape = _dialect(vendor, raw.get("dialect"), declared)
    return VendorProfile(
        name=vendor,
        dialect=raw["dialect"],
        shape=shape,
        spec=raw.get("spec", vendor),
        docs_url=raw.get("docs_url"),
        request_id_prefix=raw.get("request_id_prefix", "req_"),
        journal_headers=tuple(raw.get("journal_headers") or ()),
        auth=AuthProfile(
            key_pattern=auth.get("key_pattern", r"^.+$"),
            new_key_prefix=auth.get("new_key_prefix", f"{vendor}_key_"),
            new_oauth_prefix=auth.get("new_oauth_prefix", f"{vendor}_oauth_"),
            kind_prefixes=dict(auth.get("kind_prefixes") or {}),
            eligible_plans=frozenset(auth["eligible_plans"]) if "eligible_plans" in auth else None,
            default_plan=auth.get("default_plan", "DEFAULT"),
            scheme_kinds=dict(auth.get("scheme_kinds") or {}),
            workspace_header=auth.get("workspace_header"),
            workspace_header_required_for=frozenset(auth.get("workspace_header_required_for") or ()),
        ),
        versions=VersionProfile(
            header=versions["header"],
            accepted=tuple(versions["accepted"]),
            default=versions.get("default"),
        )
        if versions
        else None,
        idempotency=IdempotencyProfile(**idem) if idem else None,
        validation=ValidationProfile(
            default_kind=validation.get("default_kind", "MALFORMED_REQUEST"),
            keyword_kinds=dict(validation.get("keyword_kinds") or {}),
            field_rules={k: FieldRule(**v) for k, v in (validation.get("field_rules") or {}).items()},
            reject_unknown_query=bool(validation.get("reject_unknown_query", False)),
        ),
        max_json_body_bytes=raw.get("max_json_body_bytes"),
        rate_limit=RateLimitProfile(**raw["rate_limit"]) if raw.get("rate_limit") else None,
        error_map=_mappings(raw.get("errors")),
        s3_errors=_mappings(raw.get("s3_errors")),
        settings=dict(raw.get("settings") or {}),
    )


def apply_overrides(vendor: str, raw: dict, overrides: tuple[str, ...]) -> set[str]:
    """Apply each `vendor.<path>=<yaml value>` aimed at this vendor: the path is read under
    `profile.settings` (scripe.uploads.caps), or else under `profile` (scripe.rate_limit.limit).
    Returns the dotted paths written."""
    written = set()
    for each in overrides:
        target, _, text = each.partition("=")
        name, _, dotted = target.partition(".")
        if name != vendor:
            continue
        profile = raw.setdefault("profile", {})
        node = profile.setdefault("settings", {})
        if dotted.split(".")[0] not in node and isinstance(profile.get(dotted.split(".")[0]), dict):
            node = profile
        *parents, leaf = dotted.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                sections = [section for section, value in node.items() if isinstance(value, dict)]
                raise ValueError(
                    f"--set {each}: {vendor} has no settings section {part!r}; "
                    f"sections here: {', '.join(sections) or 'none'}"
                )
            node = node[part]
        if leaf not in node:
            raise ValueError(
                f"--set {each}: {vendor} has no setting {dotted!r}; known here: {', '.join(node) or 'none'}"
            )
        node[leaf] = parse_yaml(text)
        written.add(dotted)
    return written


def load_world(
    vendor: str,
    fixtures_dir: Path | None = None,
    overrides: tuple[str, ...] = (),
    dialects: Mapping[str, Dialect] | None = None,
    shipped: Path | None = None,
    settings_schema: dict | None = None,
) -> World:
    """A vendor's fixtures as its world. `dialects`: the vendors' own error shapes a fixture may
    name besides the shared ones; `shipped`: the vendor's own fixture file, where a user's
    fixtures directory has none; `settings_schema`: what its `profile.settings` must keep to
    (the spec's `x-emulator-settings`; all three are the registry's, handed in by the
    composition root)."""
    path = fixture_path(vendor, fixtures_dir, shipped)
    try:
        raw = load_yaml(path)
    except (OSError, DataFileError) as exc:
        raise ValueError(f"cannot read fixtures {path}: {exc}") from exc
    written = apply_overrides(vendor, raw, overrides)
    fixture_settings.check(vendor, raw.get("profile") or {}, settings_schema, written, str(path))
    profile = _profile(vendor, raw["profile"], dialects or {})
    workspaces = tuple(
        Workspace(id=w["id"], name=w.get("name", w["id"]), plan=w.get("plan", profile.auth.default_plan))
        for w in raw.get("workspaces") or ()
    )
    keys = tuple(
        ApiKey(
            id=k["id"],
            secret=k["secret"],
            vendor=vendor,
            workspace=k["workspace"],
            scopes=frozenset(k.get("scopes") or ()),
            status=k.get("status", "active"),
            expires_at=parse_iso(k["expires_at"]) if k.get("expires_at") else None,
            kind=k.get("kind", "api_key"),
            description=k.get("description", ""),
            member_of=frozenset(k.get("member_of") or ()),
            created_at=parse_iso(k["created_at"]) if k.get("created_at") else None,
        )
        for k in raw.get("keys") or ()
    )
    known = {w.id for w in workspaces}
    for key in keys:
        if not key.workspaces <= known:
            raise ValueError(f"fixtures {path}: key {key.id} names unknown workspace {key.workspace}")
    resources = []
    for kind, items in (raw.get("resources") or {}).items():
        for item in items or ():
            if item.get("workspace") not in known or "id" not in item:
                raise ValueError(f"fixtures {path}: each {kind} needs an id and a known workspace, got {item}")
            fields = {k: v for k, v in item.items() if k != "workspace"}
            resources.append((str(kind), str(item["workspace"]), fields))
    return World(profile=profile, workspaces=workspaces, keys=keys, resources=tuple(resources))

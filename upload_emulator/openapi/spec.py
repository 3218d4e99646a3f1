"""One OpenAPI 3.1 document: its operations as routes, and the validators of their bodies and responses.

Schemas are validated in place inside the document (a `referencing` registry resolves
`#/components/...`), so the spec file stays the single source of truth.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from upload_emulator.core.datafiles import load_yaml
from upload_emulator.openapi.instances import RequestInvalid, check_instance
from upload_emulator.openapi.schemas import Compiled, fast_registry_for

if TYPE_CHECKING:
    from referencing import Registry

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict
    validator: Compiled = field(compare=False, repr=False)

    @classmethod
    def of(cls, raw: dict) -> Parameter:
        schema = raw.get("schema", {})
        return cls(raw["name"], raw["in"], bool(raw.get("required")), schema, Compiled(schema))


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    body_media_types: tuple[str, ...]
    security: list[dict[str, list[str]]]
    responses: dict[str, dict[str, str | None]]  # status → media type → schema pointer
    _spec: Spec | None = field(default=None, repr=False)

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{([^}]+)\}", r"<\1>", self.path)

    @property
    def needs_auth(self) -> bool:
        return bool(self.security)

    @cached_property
    def takes_json(self) -> bool:
        """Whether the body is JSON, read and checked before the handler runs (else left unread)."""
        return any("json" in media for media in self.body_media_types)

    @property
    def spec(self) -> Spec:
        """The document this operation belongs to (set when the document is loaded)."""
        if self._spec is None:
            raise RuntimeError(f"{self.operation_id} was built outside a Spec")
        return self._spec

    @cached_property
    def _body_schema_parts(self) -> tuple[str, ...] | None:
        media = next((m for m in self.body_media_types if "json" in m), None)
        if media is None:
            return None
        return ("paths", self.path, self.method.lower(), "requestBody", "content", media, "schema")

    @cached_property
    def body_validator(self) -> Compiled | None:
        parts = self._body_schema_parts
        return None if parts is None else self.spec.validator(*parts)

    @cached_property
    def body_discriminator(self) -> tuple[str, dict[str, Compiled]] | None:
        """(property, value → branch validator) when the body is a discriminated oneOf."""
        parts = self._body_schema_parts
        if parts is None:
            return None
        schema, _ = self.spec.resolve(self.spec.node(parts), parts)
        found = schema.get("discriminator") if isinstance(schema, dict) else None
        if not found or not found.get("mapping"):
            return None
        branches = {value: self.spec.validator_at(ref[1:]) for value, ref in found["mapping"].items()}
        return found["propertyName"], branches

    def check_body(self, body: Any) -> None:
        """Validate a body; a discriminated oneOf is checked against the branch it names."""
        discriminated = self.body_discriminator
        if discriminated is not None and isinstance(body, dict):
            prop, branches = discriminated
            if prop not in body:
                raise RequestInvalid(f"{prop} is required", prop, "required")
            branch = branches.get(body[prop]) if isinstance(body[prop], str) else None
            if branch is None:
                raise RequestInvalid(f"{prop} must be one of {', '.join(branches)}", prop, "enum")
            check_instance(branch, body)
            return
        if self.body_validator is not None:
            check_instance(self.body_validator, body)

    def response_validator(self, status: int, media_type: str) -> Compiled | None:
        """The validator for a documented (status, media type); KeyError when undocumented."""
        for candidate in (str(status), f"{str(status)[0]}XX", "default"):
            if candidate in self.responses:
                by_media = self.responses[candidate]
                break
        else:
            raise KeyError(f"{status} is not documented")
        if not by_media:
            if media_type:
                raise KeyError(f"{status} is documented with no body, got {media_type}")
            return None
        for candidate in (media_type, f"{media_type.split('/')[0]}/*", "*/*"):
            if candidate in by_media:
                pointer = by_media[candidate]
                return None if pointer is None else self.spec.validator_at(pointer)
        raise KeyError(f"{status} is not documented as {media_type}")


class Spec:
    """A loaded OpenAPI document and the operations it declares."""

    def __init__(self, name: str, document: dict) -> None:
        self.name = name
        self.document = document
        self.uri = f"urn:upload-emulator:spec:{name}"
        self._validators: dict[str, Compiled] = {}
        self._fast_registry: Any = None
        self.operations = self._operations()

    @cached_property
    def registry(self) -> Registry:
        """The document as jsonschema's `$ref` target (built when jsonschema is first needed)."""
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        return Registry().with_resource(
            self.uri, Resource.from_contents(self.document, default_specification=DRAFT202012)
        )

    @classmethod
    def load(cls, path: Path) -> Spec:
        return cls(path.stem, load_yaml(path))

    @cached_property
    def security_schemes(self) -> dict[str, dict]:
        return self.document.get("components", {}).get("securitySchemes", {})

    @cached_property
    def credential_headers(self) -> tuple[str, ...]:
        """The request headers that carry credentials, per the security schemes (Authorization, X-API-Key, …)."""
        found = []
        for scheme in self.security_schemes.values():
            if scheme.get("type") in ("http", "oauth2"):
                found.append("Authorization")
            elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                found.append(scheme["name"])
        return tuple(dict.fromkeys(found))

    @property
    def base_path(self) -> str:
        """The path of the vendor's first server URL (`https://api.x.io/v1` → `/v1`)."""
        servers = self.document.get("servers") or [{"url": "/"}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def validator_at(self, pointer: str) -> Compiled:
        """A validator for the schema at `pointer`, its local `$ref`s inlined: jsonschema follows
        a `$ref` on every call (tens of microseconds each), and this runs on every request."""
        cached = self._validators.get(pointer)
        if cached is None:
            schema = self.inlined({"$ref": f"#{pointer}"})
            cached = Compiled(schema, registry=lambda: self.registry, fast_registry=self.fast_registry)
            self._validators[pointer] = cached
        return cached

    def inlined(self, node: Any, chain: tuple[str, ...] = ()) -> Any:
        """`node` with each local `$ref` replaced by a copy of its target. A `$ref` beside other
        keywords becomes `allOf` (2020-12 applies both); one back into its own chain (a recursive
        schema) stays a `$ref`, made absolute so the registry still resolves it."""
        if isinstance(node, list):
            return [self.inlined(item, chain) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {key: self.inlined(value, chain) for key, value in node.items()}
        if ref in chain:
            return {**node, "$ref": f"{self.uri}{ref}"}
        target, _ = self.resolve({"$ref": ref}, ())
        resolved = self.inlined(target, (*chain, ref))
        siblings = {key: self.inlined(value, chain) for key, value in node.items() if key != "$ref"}
        return {"allOf": [resolved, siblings]} if siblings else resolved

    def fast_registry(self) -> Any:
        """The document for jsonschema-rs's `$ref`s, converted once however many schemas use it."""
        if self._fast_registry is None:
            self._fast_registry = fast_registry_for(self.uri, self.document)
        return self._fast_registry

    def validator(self, *parts: str) -> Compiled:
        return self.validator_at(_pointer(*parts))

    def response_headers(self, op: Operation, status: int) -> dict[str, bool]:
        """The headers documented for a response: name → required."""
        raw = self.node(("paths", op.path, op.method.lower(), "responses"))
        response = raw.get(str(status)) or raw.get("default") or {}
        response, _ = self.resolve(response, ())
        found = {}
        for name, header in (response.get("headers") or {}).items():
            header, _ = self.resolve(header, ())
            found[name] = bool(header.get("required"))
        return found

    def node(self, parts: tuple[str, ...]) -> Any:
        node: Any = self.document
        for part in parts:
            node = node[part]
        return node

    def served_document(self, mount_url: str) -> dict:
        """The document as served: the emulator's own mount first among the servers."""
        served = copy.deepcopy(self.document)
        original = served.get("servers") or []
        served["servers"] = [{"url": mount_url, "description": "upload-emulator"}, *original]
        return served

    def resolve(self, node: dict, parts: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
        """Follow local `$ref`s; returns the node and the path where it really lives."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"{self.name}: only local $refs are supported, got {ref}")
            parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
            node = self.document
            for part in parts:
                node = node[part]
        return node, parts

    def _operations(self) -> list[Operation]:
        global_security = self.document.get("security", [])
        found: list[Operation] = []
        for path, item in (self.document.get("paths") or {}).items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                resolved = [self.resolve(p, ())[0] for p in (*shared, *raw.get("parameters", []))]
                params = tuple(Parameter.of(p) for p in resolved if p["in"] in ("path", "query", "header"))
                body = raw.get("requestBody") or {}
                responses: dict[str, dict[str, str | None]] = {}
                for status, response in (raw.get("responses") or {}).items():
                    here = ("paths", path, method, "responses", str(status))
                    response, where = self.resolve(response, here)
                    responses[str(status)] = {
                        media: _pointer(*where, "content", media, "schema") if "schema" in content else None
                        for media, content in (response.get("content") or {}).items()
                    }
                found.append(
                    Operation(
                        operation_id=raw["operationId"],
                        method=method.upper(),
                        path=path,
                        parameters=params,
                        body_required=bool(body.get("required")),
                        body_media_types=tuple((body.get("content") or {}).keys()),
                        security=raw.get("security", global_security),
                        responses=responses,
                        _spec=self,
                    )
                )
        return found


# --- request checks ---------------------------------------------------------------------

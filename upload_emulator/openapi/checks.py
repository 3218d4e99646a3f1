"""A request's parameters and JSON body held to its operation, and a response to what the spec documents."""

from __future__ import annotations

from typing import Any

from upload_emulator.openapi.instances import RequestInvalid, check_instance, loads
from upload_emulator.openapi.spec import Operation


def _coerce(raw: str, schema: dict, name: str) -> Any:
    types = schema.get("type", "string")
    types = types if isinstance(types, list) else [types]
    if "integer" in types:
        try:
            return int(raw)
        except ValueError:
            raise RequestInvalid(f"{name} must be an integer", name, "type") from None
    if "number" in types:
        try:
            return float(raw)
        except ValueError:
            raise RequestInvalid(f"{name} must be a number", name, "type") from None
    if "boolean" in types:
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise RequestInvalid(f"{name} must be true or false", name, "type")
    return raw


def check_parameters(
    op: Operation, query, headers, path_params: dict[str, str], reject_unknown_query: bool = False
) -> dict[str, Any]:
    """Check and coerce path, query and header parameters; returns them by name."""
    values: dict[str, Any] = {}
    if reject_unknown_query:
        declared = {p.name for p in op.parameters if p.location == "query"}
        unknown = sorted(set(query.keys()) - declared)
        if unknown:
            raise RequestInvalid(
                f"unknown query parameter {unknown[0]}", unknown[0], "additionalProperties", in_body=False
            )
    for param in op.parameters:
        source = {"path": path_params, "query": query, "header": headers}[param.location]
        raw = source.get(param.name)
        if raw is None:
            if param.required:
                raise RequestInvalid(f"{param.name} is required", param.name, "required", in_body=False)
            continue
        try:
            value = _coerce(raw, param.schema, param.name)
            check_instance(param.validator, value, prefix=param.name)
        except RequestInvalid as bad:
            bad.in_body = False
            raise
        values[param.name] = value
    return values


def parse_json_body(op: Operation, content_type: str | None, raw: bytes) -> Any:
    """Decode and validate a JSON request body against the operation's schema."""
    if not raw:
        if op.body_required:
            raise RequestInvalid("a JSON request body is required", None, "required")
        return None
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in op.body_media_types:
        expected = ", ".join(op.body_media_types) or "no body"
        raise RequestInvalid(
            f"Content-Type must be {expected}, got {media or 'nothing'}", "Content-Type", "contentType"
        )
    try:
        body = loads(raw)
    except ValueError as exc:  # bad JSON, bad UTF-8, or a number too long to convert
        raise RequestInvalid(f"the body is not valid JSON: {exc}", None, "json") from None
    except RecursionError:
        raise RequestInvalid("the body nests too deeply to be read", None, "json") from None
    op.check_body(body)
    return body


def response_problems(op: Operation, status: int, content_type: str, body: Any) -> list[str]:
    """What is wrong with a response the emulator is about to send (empty when it conforms)."""
    media = (content_type or "").split(";")[0].strip()
    try:
        validator = op.response_validator(status, media)
    except KeyError:
        return [f"{op.operation_id}: response {status} {media or '(no body)'} is not documented"]
    if validator is None:
        return []
    return [f"{op.operation_id} {status}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(body)]

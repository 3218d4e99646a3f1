"""The ordered steps of every spec-routed request, as one tuple of small functions.

    STEPS = charge_rate_limit → apply_faults → authenticate → choose_workspace → check_plan
            → pin_version → check_scope → read_body → begin_idempotency → check_request
            → handler → finish

(idempotency begins before the request is validated, so that a vendor whose profile says
`store_validation_errors` replays a validation error too, as Streamloop documents.)

Each step takes the `Call` and returns nothing, returns a `Reply` (which ends the request
early, as an idempotent replay does), or raises `ApiError`. A profile switches a step off
by leaving its data out (no `versions:`, no `idempotency:`); the order never changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Request, Response
from werkzeug.exceptions import ClientDisconnected

from upload_emulator.api import journal_entry
from upload_emulator.api.access import is_foreign_origin, is_valid_host
from upload_emulator.api.call import Call, Reply, new_request_id
from upload_emulator.core import errors
from upload_emulator.core.dialects import render
from upload_emulator.core.errors import ApiError
from upload_emulator.openapi.checks import check_parameters, parse_json_body, response_problems
from upload_emulator.openapi.instances import RequestInvalid
from upload_emulator.openapi.spec import Operation
from upload_emulator.services.auth import authenticate as auth_authenticate
from upload_emulator.services.auth import check_plan as auth_check_plan
from upload_emulator.services.auth import check_scopes, credential_from, select_workspace
from upload_emulator.services.emulator import Emulator, Vendor
from upload_emulator.services.faults import kind_for_status
from upload_emulator.services.idempotency import Conflict, StoredReply, body_hash
from upload_emulator.services.ratelimit import headers_for

log = logging.getLogger("upload_emulator.requests")


# --- the steps ----------------------------------------------------------------------
def apply_faults(call: Call) -> None:
    """An injected fault fires before any real check, as if the vendor itself were failing or slow."""
    rule = call.emu.faults.take(call.vendor.name, call.op.operation_id, call.request.path)
    if rule is None:
        return
    call.fault = rule.id
    if rule.delay_ms:
        time.sleep(rule.delay_ms / 1000)
    if rule.status:
        kind = kind_for_status(call.profile, rule.status)
        headers = {"X-Emulator-Reason": f"injected fault {rule.id}"}
        if rule.status == 429:
            headers["Retry-After"] = "1"
        code = rule.code or call.profile.error_for(kind).code
        raise ApiError(kind, code=code, status=rule.status, headers=headers)


def charge(emu: Emulator, vendor: Vendor, request: Request, operation_id: str, now: datetime) -> dict[str, str]:
    """Count one request against its caller's budget (the credential sent, else the address).

    Returns the rate-limit headers to send; raises RATE_LIMITED (with them) past the budget.
    Routing errors are charged too, as the vendors do (`operation_id` is then "").
    """
    rules = vendor.profile.rate_limit
    if rules is None:
        return {}
    carriers = vendor.spec.credential_headers
    sent = next((request.headers[h] for h in carriers if request.headers.get(h)), None)
    owner = None
    if sent and (rules.plans or rules.per == "workspace"):
        token = sent.partition(" ")[2].strip() or sent.strip()
        key = emu.keys.find(vendor.name, token)
        owner = emu.keys.workspace(vendor.name, key.workspace) if key else None
    limit, bucket = rules.budget(operation_id, owner.plan if owner else None)
    if limit is None:
        return {}
    if owner is not None and rules.per == "workspace":
        caller: tuple = ("workspace", owner.id)
    elif sent:
        caller = ("credential", hashlib.sha256(sent.encode()).hexdigest())
    else:
        caller = ("addr", request.remote_addr)
    verdict = emu.ratelimits.charge((vendor.name, bucket, *caller), limit, rules.window_s, now)
    headers = headers_for(rules, limit, verdict)
    if not verdict.allowed:
        raise ApiError(
            errors.RATE_LIMITED,
            f"Rate limit of {limit} requests per {rules.window_s} s exceeded; retry in {verdict.reset_s} s.",
            headers={**headers, "Retry-After": str(verdict.reset_s)},
        )
    return headers


def charge_rate_limit(call: Call) -> None:
    call.extra_headers.update(charge(call.emu, call.vendor, call.request, call.op.operation_id, call.now))


def authenticate(call: Call) -> None:
    if not call.op.needs_auth:
        return
    schemes = call.vendor.spec.security_schemes
    names = list(dict.fromkeys(name for req in call.op.security for name in req))
    call.scheme, token = credential_from(call.request.headers, schemes, names)
    call.found_key, call.found_workspace = auth_authenticate(call.profile, call.emu.keys, token, call.now, call.scheme)


def choose_workspace(call: Call) -> None:
    header = call.profile.auth.workspace_header
    if header and call.found_key is not None:
        asked = call.request.headers.get(header)
        call.found_workspace = select_workspace(call.profile, call.emu.keys, call.found_key, asked)


def check_plan(call: Call) -> None:
    if call.found_workspace is not None:
        auth_check_plan(call.profile, call.found_workspace)


def pin_version(call: Call) -> None:
    versions = call.profile.versions
    if versions is None:
        return
    asked = call.request.headers.get(versions.header)
    if asked is None:
        if versions.default is None:
            raise ApiError(
                errors.VERSION_UNSUPPORTED,
                f"The {versions.header} header is required.",
                extra={"accepted": list(versions.accepted)},
            )
        call.version = versions.default
    elif asked.strip() in versions.accepted:
        call.version = asked.strip()
    else:
        raise ApiError(
            errors.VERSION_UNSUPPORTED,
            f"API version {asked!r} is not supported. Accepted: {', '.join(versions.accepted)}.",
            extra={"accepted": list(versions.accepted)},
        )


def check_scope(call: Call) -> None:
    if call.found_key is not None and call.scheme is not None:
        check_scopes(call.op.security, call.scheme, call.found_key)


def busy() -> ApiError:
    """The answer to a request the server found no room for (`serving.contract.REFUSED`), in any dialect."""
    return ApiError(
        errors.UNAVAILABLE,
        "The emulator is busy with other uploads; retry shortly.",
        headers={"Retry-After": "1", "Connection": "close"},  # the body was never read
    )


def read_body(call: Call) -> None:
    """Read a JSON body, refusing (413) past the vendor's cap without reading it all.

    A raw body (Adclear's chunks) is left in the stream for the handler to read.
    """
    if not call.op.takes_json:
        return
    cap = call.profile.max_json_body_bytes or call.emu.settings.max_json_body_bytes
    declared = call.request.content_length
    if declared is not None and declared > cap:
        raise ApiError(errors.PAYLOAD_TOO_LARGE, f"The request body is {declared} bytes; the limit is {cap}.")
    # Ask for no more than can come: a stream's read(n) may set aside n bytes first, whatever arrives.
    most = cap + 1 if declared is None else declared
    raw = b""
    try:
        while len(raw) < most and (chunk := call.request.stream.read(most - len(raw))):
            raw += chunk  # a stream may return less than asked; stop at the cap or the end
    except ValueError as bad:  # the server could not decode the framing (a malformed chunked body)
        raise ApiError(errors.MALFORMED_REQUEST, f"The request body's framing is malformed: {bad}") from None
    except (ClientDisconnected, ConnectionError):  # the client's own doing, journaled as such; not an emulator bug
        raise ApiError(errors.MALFORMED_REQUEST, "The client went away before sending the whole body.") from None
    if len(raw) > cap:
        raise ApiError(errors.PAYLOAD_TOO_LARGE, f"The request body is over the {cap}-byte limit.")
    call.raw_body = raw


def check_request(call: Call) -> None:
    """Host, parameters and body against the spec; a vendor call's URLs are built from its Host,
    so one that cannot make a URL is refused here, before any handler records anything."""
    if not is_valid_host(call.request.host):
        raise ApiError(errors.MALFORMED_REQUEST, "The Host header must be host[:port].", field="Host")
    try:
        call.params = check_parameters(
            call.op,
            call.request.args,
            call.request.headers,
            call.path_params,
            reject_unknown_query=call.profile.validation.reject_unknown_query,
        )
        if call.op.takes_json:
            call.body = parse_json_body(call.op, _body_content_type(call), call.raw_body)
    except RequestInvalid as bad:
        call.invalid = True
        kind_name, code = call.profile.validation.error_for(bad.field, bad.keyword, bad.in_body)
        raise ApiError(
            getattr(errors, kind_name), bad.message, field=bad.field, field_errors=bad.problems, code=code
        ) from None


def _body_content_type(call: Call) -> str | None:
    """The control plane reads a body as JSON whatever its Content-Type (curl -d sends a form
    type), unless a web page on another origin sent it."""
    sent = call.request.content_type
    lenient = call.vendor.is_control_plane and "json" not in (sent or "").lower()
    if lenient and not is_foreign_origin(call.request.headers, call.request.host):
        return "application/json"
    return sent


def begin_idempotency(call: Call) -> Reply | None:
    rules = call.profile.idempotency
    if rules is None or call.op.method not in ("POST", "PATCH") or call.found_workspace is None:
        return None
    key = call.request.headers.get(rules.header)
    if key is None or not re.match(rules.key_pattern, key):
        return None  # no key, or one of the wrong shape: ignored, as if absent
    scope = (call.vendor.name, call.workspace.id, call.op.operation_id, key)
    try:
        found = call.emu.idempotency.begin(scope, _digest(call), call.now, rules.window_s)
    except Conflict as why:
        raise ApiError(
            getattr(errors, rules.conflict_kind), f"{rules.header} {key!r} was already used: {why}."
        ) from None
    if isinstance(found, StoredReply):
        call.replayed = True
        headers = {**found.headers, rules.replay_header: "true"}
        return Reply(found.status, found.body, found.content_type, headers)
    call.idempotency = (scope, found)
    call.replayed = False
    return None


def _digest(call: Call) -> str:
    """The body's hash for idempotency, before it is validated: of its JSON (key order does not
    count) where it parses, else of its bytes."""
    raw = call.raw_body or b""
    try:
        return body_hash(json.loads(raw)) if raw else body_hash(None)
    except (ValueError, RecursionError):
        return hashlib.sha256(raw).hexdigest()


STEPS = (
    charge_rate_limit,
    apply_faults,
    authenticate,
    choose_workspace,
    check_plan,
    pin_version,
    check_scope,
    read_body,
    begin_idempotency,
    check_request,
)


# --- running them -------------------------------------------------------------------
def error_reply(call: Call, err: ApiError) -> Reply:
    rendered = render(err, call.profile, call.request_id)
    return Reply(rendered.status, rendered.body, rendered.content_type, rendered.headers, rendered.code)


def _encode(reply: Reply) -> bytes | Iterable[bytes] | None:
    if reply.body is None or isinstance(reply.body, bytes):
        return reply.body
    if isinstance(reply.body, (dict, list, str, int, float, bool)):
        return json.dumps(reply.body).encode()
    return reply.body  # an iterable of chunks


def _finish_idempotency(call: Call, reply: Reply, body: Any) -> None:
    if call.idempotency is None:
        return
    scope, entry = call.idempotency
    rules = call.profile.idempotency
    keep_client_errors = rules is not None and rules.store_client_errors
    if call.invalid and not (rules is not None and rules.store_validation_errors):
        keep_client_errors = False
        call.replayed = None  # as before the key was looked at: the answer says nothing of replays
    storable = reply.status < 500 and (reply.status < 400 or keep_client_errors)
    stored = StoredReply(reply.status, body, reply.content_type, dict(reply.headers)) if storable else None
    call.emu.idempotency.finish(scope, entry, stored)
    call.idempotency = None


def _strict_check(call: Call, reply: Reply, body: Any) -> Reply:
    if not call.emu.settings.strict or not isinstance(body, bytes) or "json" not in reply.content_type:
        return reply
    if call.fault is not None:
        return reply  # an injected fault answers as asked, documented or not
    problems = response_problems(call.op, reply.status, reply.content_type, json.loads(body) if body else None)
    if not problems:
        return reply
    call.emu.record_server_error("; ".join(problems))
    failed = error_reply(call, ApiError(errors.INTERNAL, "The emulator produced a response its spec forbids."))
    failed.headers["X-Emulator-Reason"] = problems[0][:500]
    return failed


def _outcome(call: Call) -> Reply:
    """Run the steps and the handler; any failure becomes the reply the vendor would send."""
    try:
        for step in STEPS:
            reply = step(call)
            if reply is not None:
                return reply
        return call.vendor.handlers[call.op.operation_id](call)
    except ApiError as err:
        return error_reply(call, err)
    except Exception as exc:  # a bug: log it, tell the test, answer like the vendor's 500
        log.exception("unhandled error in %s %s", call.vendor.name, call.op.operation_id)
        call.emu.record_server_error(f"{call.op.operation_id}: {type(exc).__name__}: {exc}")
        return error_reply(call, ApiError(errors.INTERNAL))


def run(emu: Emulator, vendor: Vendor, op: Operation, request: Request, path_params: dict[str, str]) -> Response:
    """One spec-routed request, start to finish."""
    call = Call(
        emu=emu,
        vendor=vendor,
        op=op,
        request=request,
        path_params=path_params,
        request_id=new_request_id(vendor.profile.request_id_prefix),
        now=emu.clock.now(),
        started=time.perf_counter(),
    )
    return handle(call)


def handle(call: Call) -> Response:
    """Steps, handler, encoding, the strict check, then (only then) storing an idempotent reply."""
    call.emu.scheduler.run_due(call.now)  # what the clock made happen, before anyone looks
    reply = _outcome(call)
    try:
        body = _encode(reply)
    except (TypeError, ValueError) as exc:
        call.emu.record_server_error(f"{call.op.operation_id}: reply is not JSON-able: {exc}")
        reply = error_reply(call, ApiError(errors.INTERNAL))
        body = _encode(reply)
    if isinstance(body, bytes) or body is None:
        checked = _strict_check(call, reply, body)
        if checked is not reply:  # the spec forbade the reply: the 500 that replaces it
            reply, body = checked, _encode(checked)
    _finish_idempotency(call, reply, body)
    return respond(call, reply, body)


def version_echo(profile, request_headers, pinned: str | None = None) -> dict[str, str]:
    """The version header every response echoes: the pinned one, else an accepted one asked for, else the default."""
    versions = profile.versions
    if versions is None:
        return {}
    asked = (request_headers.get(versions.header) or "").strip()
    echoed = pinned or (asked if asked in versions.accepted else versions.default)
    return {versions.header: echoed} if echoed else {}


def respond(call: Call, reply: Reply, body: Any) -> Response:
    headers = {"X-Request-Id": call.request_id, **call.extra_headers, **reply.headers}
    headers.update(version_echo(call.profile, call.request.headers, call.version))
    if call.replayed is False and call.profile.idempotency is not None:
        headers.setdefault(call.profile.idempotency.replay_header, "false")
    response = Response(body, status=reply.status, headers=headers, content_type=reply.content_type)
    if body is None:
        del response.headers["Content-Type"]  # no body, no type (werkzeug would send its default)
    journal_entry.record(call, reply, body)
    return response

"""What the shared suites know of a vendor, worked out from its spec and its fixture alone.

No table here names a vendor: a vendor installed tomorrow (or offered by another package)
is in every shared suite the moment its spec and fixture are. For each vendor:

- `write`: the first operation that is a POST, needs credentials, takes JSON and carries a
  request example (`x-emulator-example`) in the spec (the upload-creating one, in the shipped specs);
- `credentials`: headers that authenticate as a fixture key, found by trying the keys (those
  with the most scopes first) with each security scheme the operation accepts (and the
  profile's workspace header, naming the key's own workspace) until the example is accepted;
- `is_error(response)`: the answer is one the spec documents for its status (the vendor's
  own error shape, whatever it is);
- `idempotent`: the profile declares idempotency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from upload_emulator.openapi.checks import response_problems
from upload_emulator.openapi.spec import Operation
from upload_emulator.services.emulator import Emulator, Vendor


@dataclass
class VendorCase:
    vendor: Vendor
    write: Operation
    example: Any
    credentials: dict[str, str]

    @property
    def write_path(self) -> str:
        return self.vendor.mount_path + self.write.path

    @property
    def carriers(self) -> dict[str, str]:
        """The credential itself (the security scheme's header); the rest of `credentials` says who
        or where (a workspace header), and a generated request may carry its own of those."""
        workspace = (self.vendor.profile.auth.workspace_header or "").lower()
        return {k: v for k, v in self.credentials.items() if k.lower() != workspace}

    @property
    def identity(self) -> dict[str, str]:
        return {k: v for k, v in self.credentials.items() if k not in self.carriers}

    @property
    def idempotent(self) -> bool:
        return self.vendor.profile.idempotency is not None

    def is_error(self, status: int, content_type: str, body: Any) -> bool:
        """A 4xx or 5xx whose body the spec documents for this operation and status."""
        return status >= 400 and not response_problems(self.write, status, content_type, body)


# A request body the shared suites may send, in the spec beside the schema it fits. It is not
# OpenAPI's own `example`: schemathesis would draw that into its stateful runs, and one such draw
# is not reproducible for hypothesis (FlakyStrategyDefinition on Streamloop's links).
EXAMPLE = "x-emulator-example"


def example_of(op: Operation) -> Any:
    content = op.spec.node(("paths", op.path, op.method.lower(), "requestBody", "content")) or {}
    for media, body in content.items():
        if "json" in media and EXAMPLE in body:
            return body[EXAMPLE]
    return None


def first_write(vendor: Vendor) -> Operation:
    for op in vendor.spec.operations:
        if op.method == "POST" and op.needs_auth and op.takes_json and example_of(op) is not None:
            return op
    raise AssertionError(f"{vendor.name}: no POST operation with credentials and a JSON request example in its spec")


def _scheme_headers(scheme: dict, secret: str) -> dict[str, str] | None:
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return {scheme["name"]: secret}
    if scheme.get("type") in ("http", "oauth2", "openIdConnect") and scheme.get("scheme", "bearer").lower() == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    return None


def candidate_credentials(emu: Emulator, vendor: Vendor, op: Operation) -> list[dict[str, str]]:
    """Every (key, scheme) the operation might accept, the keys with the most scopes first."""
    world = emu.worlds[vendor.name]
    schemes = vendor.spec.security_schemes
    names = list(dict.fromkeys(name for requirement in op.security for name in requirement))
    keys = sorted((k for k in world.keys if k.status == "active"), key=lambda k: -len(k.scopes))
    workspace_header = vendor.profile.auth.workspace_header
    found = []
    for key in keys:
        for name in names:
            headers = _scheme_headers(schemes.get(name, {}), key.secret)
            if headers is not None:
                if workspace_header:
                    headers[workspace_header] = key.workspace
                found.append(headers)
    return found


def case_for(app, vendor_name: str) -> VendorCase:
    """The vendor's case on this app (its emulator is reset afterwards: probing leaves nothing)."""
    emu: Emulator = app.extensions["upload_emulator"]
    vendor = emu.vendors[vendor_name]
    op = first_write(vendor)
    example = example_of(op)
    client = app.test_client()
    tried = []
    for headers in candidate_credentials(emu, vendor, op):
        answer = client.post(vendor.mount_path + op.path, json=example, headers=headers)
        tried.append(f"{sorted(headers)} -> {answer.status_code}")
        if answer.status_code < 300:
            emu.reset()
            return VendorCase(vendor, op, example, headers)
    raise AssertionError(f"{vendor_name}: no fixture key makes {op.operation_id}'s example pass: {tried}")

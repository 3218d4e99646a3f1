"""The control plane is for the machine it runs on: no DNS rebinding, no cross-site requests.

Like Jupyter's and Docker's local APIs were not at first, it refuses a `Host` that is not a
loopback name, the bound address or one named with --allowed-host (a page on another site
whose name resolves to 127.0.0.1), and a state-changing call from a page on another
origin (CSRF). With --control-token it also wants the token on every call.
"""

from __future__ import annotations

import hmac

from upload_emulator.callbacks import is_loopback_host
from upload_emulator.origins import is_foreign_origin
from upload_emulator.settings import Settings

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(settings: Settings, method: str, headers, host: str) -> str | None:
    """Why a control-plane request is refused, or None when it may go on."""
    name = _hostname(host).lower()
    allowed = {settings.host.lower(), *(h.lower() for h in settings.allowed_hosts)}
    if not (is_loopback_host(name) or name in allowed):
        return f"Host {host!r} is not this emulator's; add --allowed-host {name} to allow it."
    if method in STATE_CHANGING and is_foreign_origin(headers, host):
        return f"A page on {headers.get('Origin')} may not change the emulator's state."
    if settings.control_token:
        sent = headers.get("X-Emulator-Token") or headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), settings.control_token.encode()):
            return "The control API needs its token (X-Emulator-Token or Authorization: Bearer)."
    return None

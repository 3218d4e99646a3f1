"""Lanes: uploads may not take the threads that health, the control plane and API calls need.

Each request, once its head is read, falls into one lane: the control plane
(`/_emulator/`), an upload (a body over SMALL_BODY bytes, or chunked), or an ordinary API
call. Uploads may hold at most `threads - UPLOAD_RESERVE` threads and uploads plus API calls
at most `threads - CONTROL_RESERVE`, so a crowd of slow uploads never stops a mint, and
nothing stops health or `/_emulator/reset`. A request over its lane's share is still
answered, at once and without reading its body: the server marks it refused
(`contract.REFUSED`) and the application answers with its surface's 503.
"""

from __future__ import annotations

import threading

CONTROL, UPLOAD, API = "control", "upload", "api"
SMALL_BODY = 64 * 1024
UPLOAD_RESERVE = 16  # threads uploads never take
CONTROL_RESERVE = 4  # threads only the control plane may take


def lane_of(path: str, content_length: int | None, chunked: bool) -> str:
    if path.startswith("/_emulator/") or path == "/_emulator":
        return CONTROL
    if chunked or (content_length or 0) > SMALL_BODY:
        return UPLOAD
    return API


class Lanes:
    """Counts the requests in each lane; `enter` says whether one more may run."""

    def __init__(self, threads: int) -> None:
        self.limits = {
            UPLOAD: max(1, threads - UPLOAD_RESERVE),
            API: max(1, threads - CONTROL_RESERVE),
        }
        self._lock = threading.Lock()
        self._busy = {CONTROL: 0, UPLOAD: 0, API: 0}

    def enter(self, lane: str) -> bool:
        with self._lock:
            if lane == UPLOAD and self._busy[UPLOAD] >= self.limits[UPLOAD]:
                return False
            if lane != CONTROL and self._busy[UPLOAD] + self._busy[API] >= self.limits[API]:
                return False
            self._busy[lane] += 1
            return True

    def leave(self, lane: str) -> None:
        with self._lock:
            self._busy[lane] -= 1

    def busy(self) -> dict[str, int]:
        with self._lock:
            return dict(self._busy)

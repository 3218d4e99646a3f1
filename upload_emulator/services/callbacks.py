"""Outbound callbacks (Ctxfy's postbacks): scheduled on the emulator's clock, sent off the
request thread, retried with backoff a bounded number of times, and every attempt recorded.

The emulator works offline: it sends callbacks only to loopback addresses (where a test's
listener runs). A callback to any other host is recorded as `not_sent`, never sent.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from upload_emulator.core.clock import Clock, isoformat

SCHEDULED, DELIVERED, RETRYING, FAILED, NOT_SENT = "scheduled", "delivered", "retrying", "failed", "not_sent"
BACKOFF_S = (1, 2, 4, 8)  # seconds on the emulator's clock before attempts 2, 3, 4 and 5
TIMEOUT_S = 5
TICK_S = 0.05
MAX_KEPT = 1000  # the oldest finished deliveries are dropped past this many


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Delivery:
    id: str
    vendor: str
    event: str
    url: str
    body: dict[str, Any]
    due_at: datetime
    status: str = SCHEDULED
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "event": self.event,
            "url": self.url,
            "body": self.body,
            "dueAt": isoformat(self.due_at),
            "status": self.status,
            "attempts": list(self.attempts),
        }


def _unverified() -> ssl.SSLContext:
    """TLS without a certificate check: postbacks go to a test's own listener, with a self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _post(url: str, body: dict[str, Any]) -> int:
    """POST JSON and return the status (an HTTP error status is an answer, not an exception)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "upload-emulator-postback"},
    )
    context = _unverified() if url.startswith("https:") else None  # a local test listener
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
            return response.status
    except urllib.error.HTTPError as answered:
        return answered.code


class CallbackDispatcher:
    """Holds the deliveries and a worker thread (started with the first one) that sends them when due."""

    def __init__(self, clock: Clock, send: Callable[[str, dict[str, Any]], int] = _post) -> None:
        self._clock = clock
        self._send = send
        self._lock = threading.Lock()
        self._deliveries: dict[str, Delivery] = {}
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def schedule(self, vendor: str, event: str, url: str, body: dict[str, Any], due_at: datetime) -> Delivery:
        delivery = Delivery("dlv_" + secrets.token_hex(6), vendor, event, url, body, due_at)
        if not is_loopback_host(urlsplit(url).hostname):
            delivery.status = NOT_SENT
            delivery.attempts.append(
                {"at": isoformat(due_at), "status": None, "error": "the emulator sends nothing off this machine"}
            )
        with self._lock:
            self._deliveries[delivery.id] = delivery
            self._trim()
            if self._thread is None and delivery.status == SCHEDULED:
                self._thread = threading.Thread(target=self._run, name="upload-emulator-callbacks", daemon=True)
                self._thread.start()
        return delivery

    def all(self, vendor: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries.values() if vendor in (None, d.vendor)]

    def reset(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._generation += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 1)

    def run_due(self) -> int:
        """Send every delivery that is due now; returns how many were attempted."""
        now = self._clock.now()
        with self._lock:
            due = [d for d in self._deliveries.values() if d.status in (SCHEDULED, RETRYING) and d.due_at <= now]
            generation = self._generation
        for delivery in due:
            self._attempt(delivery, generation)
        return len(due)

    def _attempt(self, delivery: Delivery, generation: int) -> None:
        error, status = None, None
        try:
            status = self._send(delivery.url, delivery.body)
        except (OSError, ValueError) as exc:  # refused, timed out, unreachable, a bad URL
            error = f"{type(exc).__name__}: {exc}"
        now = self._clock.now()
        with self._lock:
            if generation != self._generation:
                return  # reset while sending: the delivery belongs to a world that is gone
            delivery.attempts.append({"at": isoformat(now), "status": status, "error": error})
            if status is not None and 200 <= status < 300:
                delivery.status = DELIVERED
            elif len(delivery.attempts) > len(BACKOFF_S):
                delivery.status = FAILED
            else:
                delivery.status = RETRYING
                delivery.due_at = now + timedelta(seconds=BACKOFF_S[len(delivery.attempts) - 1])

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            self.run_due()

    def _trim(self) -> None:
        finished = [k for k, d in self._deliveries.items() if d.status in (DELIVERED, FAILED, NOT_SENT)]
        for key in finished[: max(0, len(self._deliveries) - MAX_KEPT)]:
            del self._deliveries[key]

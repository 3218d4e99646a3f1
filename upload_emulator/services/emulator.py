"""One emulator instance: its settings, clock, world and every store, with one `reset`.

`create_app` builds exactly one of these and keeps it in `app.extensions`; nothing lives
at module level, so two emulators in one process (as in a test suite) never share state.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from upload_emulator.blobs.body import SCRATCH
from upload_emulator.blobs.presign import Presigner
from upload_emulator.blobs.storage import ObjectStorage
from upload_emulator.core.clock import Clock
from upload_emulator.core.profiles import CONTROL_PLANE, VendorProfile, World
from upload_emulator.core.settings import Settings
from upload_emulator.openapi.spec import Spec
from upload_emulator.services.auth import KeyStore
from upload_emulator.services.callbacks import CallbackDispatcher
from upload_emulator.services.faults import FaultStore
from upload_emulator.services.idempotency import IdempotencyStore
from upload_emulator.services.journal import Journal
from upload_emulator.services.outcomes import OutcomeStore
from upload_emulator.services.ratelimit import RateLimiter
from upload_emulator.services.reclaim import Reaper
from upload_emulator.services.records import ResourceStore, UploadRecord, UploadStore
from upload_emulator.services.scheduler import Scheduler

# The access key id of the credential minted URLs are signed with (its secret is per instance).
MINTING_KEY_ID = "UPLOADEMULATORMINTING"

log = logging.getLogger("upload_emulator")


@dataclass
class Vendor:
    """A mounted vendor: its profile, spec, handlers and where it is served."""

    name: str
    profile: VendorProfile
    spec: Spec
    handlers: dict[str, Any]
    prefix: str  # "/scripe", or "" in single-vendor mode

    @property
    def mount_path(self) -> str:
        return self.prefix + self.spec.base_path

    @property
    def is_control_plane(self) -> bool:
        """The emulator's own `/_emulator/` API, routed like a vendor but not journaled as one."""
        return self.name == CONTROL_PLANE


class Emulator:
    """One emulator: the served vendors' worlds (made by the composition root) and one of each store."""

    def __init__(self, settings: Settings, worlds: dict[str, World]) -> None:
        self.settings = settings
        self.clock = Clock()
        self.worlds = worlds
        self.keys = KeyStore(self.worlds, settings.retain)
        self.idempotency = IdempotencyStore()
        self.uploads = UploadStore(settings.retain, forget=self._forget_upload)
        self.resources = ResourceStore(settings.retain * 4)
        self.journal = Journal(settings.journal_size)
        self.faults = FaultStore()
        self.outcomes = OutcomeStore()
        self.scheduler = Scheduler()
        self.callbacks = CallbackDispatcher(self.clock)
        self.ratelimits = RateLimiter()
        SCRATCH.sweep_once()  # what an emulator killed outright left on disk
        self.storage = ObjectStorage(settings.s3_region, settings.instance_id)
        self.reaper = Reaper()
        # Minted URLs are signed with a secret made for this instance and never shown; the
        # credentials `serve` prints (settings.s3_*) verify too, but only for reads.
        self.presigner = Presigner(
            MINTING_KEY_ID,
            secrets.token_urlsafe(32),
            settings.s3_region,
            readers={settings.s3_access_key: settings.s3_secret_key},
        )
        self.vendors: dict[str, Vendor] = {}
        self._errors_lock = threading.Lock()
        self.server_errors: list[str] = []
        for world in self.worlds.values():
            uploads = world.profile.settings.get("uploads")
            if uploads:
                self.storage.ensure_bucket(self.bucket_for(world.profile.name))
        self._seed_resources()

    def _seed_resources(self) -> None:
        for vendor, world in self.worlds.items():
            for kind, workspace, fields in world.resources:
                self.resources.put(vendor, kind, workspace, dict(fields), pinned=True)

    def _forget_upload(self, record: UploadRecord) -> None:
        """An upload past the retention cap takes its bytes with it."""
        self.storage.delete(record.bucket, record.key)

    def bucket_for(self, vendor: str) -> str:
        """The vendor's bucket, suffixed (by default) so emulators sharing moto's process state stay apart."""
        return self.settings.bucket_name(self.worlds[vendor].profile.settings["uploads"]["bucket"])

    def record_server_error(self, message: str) -> None:
        """A bug in the emulator (a 500 or a spec violation); the pytest plugin raises these."""
        log.error("server error: %s", message)
        with self._errors_lock:
            self.server_errors.append(message)

    def take_server_errors(self) -> list[str]:
        with self._errors_lock:
            taken, self.server_errors = self.server_errors, []
        return taken

    def reset(self) -> None:
        """Back to the fixtures: keys, uploads, resources, objects, journal, faults, outcomes, callbacks, clock."""
        self.keys.reset()
        self.idempotency.reset()
        self.reaper.later(None, *self.uploads.reset(), self.resources.reset())
        self._seed_resources()
        self.storage.reset(later=self.reaper.later)
        self.journal.reset()
        self.faults.clear()
        self.outcomes.clear()
        self.scheduler.reset()
        self.callbacks.reset()
        self.ratelimits.reset()
        self.clock.reset()
        self.take_server_errors()

    def close(self) -> None:
        self.callbacks.close()
        self.reaper.close()
        self.storage.close()

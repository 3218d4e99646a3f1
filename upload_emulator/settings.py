"""Frozen run-time settings: built once (flags > UPLOAD_EMULATOR_* environment > defaults).

This is the only module that reads environment variables, so nothing changes behind a
running app's back.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_flag(value: str | None, default: bool) -> bool:
    """Read a boolean from the environment; "false", "0", "no" and "off" are false."""
    if value is None:
        return default
    return value.strip().lower() not in FALSE_WORDS


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Which installed vendors to serve; empty means every one (upload_emulator.vendors.installed).
    vendors: tuple[str, ...] = ()
    # Serve this one vendor at the root (`/v1/...`) instead of under `/<vendor>/`.
    single_vendor: str | None = None
    # A directory holding `<vendor>.yaml` fixtures that replace the shipped ones.
    fixtures_dir: Path | None = None
    # Validate every response against the spec; a violation becomes a loud 500.
    strict: bool = False
    log_level: str = "INFO"
    log_format: str = "text"
    journal_size: int = 1000
    # Fixed S3 credentials: clients that read objects back with boto3 use these.
    s3_access_key: str = "UPLOADEMULATORKEY"
    s3_secret_key: str = "upload-emulator-secret-key"
    s3_region: str = "us-east-1"
    # Bound every buffer: JSON request bodies larger than this are refused.
    max_json_body_bytes: int = 1024 * 1024
    # Distinguishes this emulator's buckets from another one's in the same process.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(4))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        values: dict = {}
        if "UPLOAD_EMULATOR_HOST" in env:
            values["host"] = env["UPLOAD_EMULATOR_HOST"]
        if "UPLOAD_EMULATOR_PORT" in env:
            values["port"] = int(env["UPLOAD_EMULATOR_PORT"])
        if "UPLOAD_EMULATOR_FIXTURES" in env:
            values["fixtures_dir"] = Path(env["UPLOAD_EMULATOR_FIXTURES"])
        if "UPLOAD_EMULATOR_STRICT" in env:
            values["strict"] = env_flag(env["UPLOAD_EMULATOR_STRICT"], False)
        if "UPLOAD_EMULATOR_LOG_LEVEL" in env:
            values["log_level"] = env["UPLOAD_EMULATOR_LOG_LEVEL"]
        if "UPLOAD_EMULATOR_LOG_FORMAT" in env:
            values["log_format"] = env["UPLOAD_EMULATOR_LOG_FORMAT"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def served_vendors(self) -> tuple[str, ...]:
        """The vendors to mount: the single one, the ones asked for, or every installed one."""
        from upload_emulator.vendors import installed

        if self.single_vendor:
            return (self.single_vendor,)
        return self.vendors or installed()

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

"""Frozen run-time settings, resolved once from one table of options.

Every option has a flag, an environment variable and a config-file key; a value is taken
from the first of: the flag, `UPLOAD_EMULATOR_*`, the TOML config file (`--config` or
`UPLOAD_EMULATOR_CONFIG`), the default. This is the only module that reads the
environment, so nothing changes behind a running app's back, and a bad value's error
names where it came from.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from upload_emulator.core.retention import DEFAULT_RETAIN

FALSE_WORDS = {"0", "false", "no", "off", ""}
TRUE_WORDS = {"1", "true", "yes", "on"}
ENV_PREFIX = "UPLOAD_EMULATOR_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


class SettingsError(ValueError):
    """A setting's value is unusable; the message names the flag, variable or file it came from."""


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
    retain: int = DEFAULT_RETAIN  # uploads and created keys kept (resources 4x) before the oldest go
    # Fixed S3 credentials: clients that read objects back with boto3 use these.
    s3_access_key: str = "UPLOADEMULATORKEY"
    s3_secret_key: str = "upload-emulator-secret-key"
    s3_region: str = "us-east-1"
    # Bound every buffer: JSON request bodies larger than this are refused.
    max_json_body_bytes: int = 1024 * 1024
    # Distinguishes this emulator's moto state (and, by default, its buckets) from another's in the process.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(4))
    # Appended to bucket names (`scripe-uploads-<suffix>`); None: the instance id; "": plain names.
    bucket_suffix: str | None = None
    # Changes to vendors' fixture settings: "scripe.uploads.caps=reference" sets
    # profile.settings.uploads.caps of Scripe (the value is read as YAML: 5, true, [a, b]).
    overrides: tuple[str, ...] = ()
    # Web origins whose pages may call the vendor APIs and the S3 endpoint (CORS); empty: any
    # loopback origin (http://localhost:*, http://127.0.0.1:*); "*": every origin.
    cors_origins: tuple[str, ...] = ()
    # Host names every surface answers besides loopback names and the bound address (DNS rebinding); "*": any.
    allowed_hosts: tuple[str, ...] = ()
    # When set, every control-plane call must carry it (`Authorization: Bearer …` or `X-Emulator-Token`).
    control_token: str | None = None

    def bucket_name(self, base: str) -> str:
        suffix = self.instance_id if self.bucket_suffix is None else self.bucket_suffix
        return f"{base}-{suffix}" if suffix else base

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from the environment (and its config file), with `overrides` on top."""
        return resolve({k: v for k, v in overrides.items() if v is not None}, environ)[0]


# --- the options ----------------------------------------------------------------------------
def _text(value: str) -> str:
    return value


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS - {""}:
        return word in TRUE_WORDS
    raise ValueError("must be true or false")


def _choice(*allowed: str, fold: Callable[[str], str] = str.lower) -> Callable[[str], str]:
    def parse(value: str) -> str:
        folded = fold(value.strip())
        if folded not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return folded

    return parse


def _vendor_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _overrides(value: str) -> tuple[str, ...]:
    """`vendor.path.to.key=value`, several separated by `;` (a flag may also repeat)."""
    found = tuple(v.strip() for v in value.split(";") if v.strip())
    for each in found:
        target, sep, _ = each.partition("=")
        if not sep or target.count(".") < 1:
            raise ValueError(f"{each!r} is not vendor.key=value (e.g. scripe.uploads.caps=reference)")
    return found


@dataclass(frozen=True)
class Option:
    name: str  # the Settings field
    flag: str
    parse: Callable[[str], Any]
    help: str

    @property
    def key(self) -> str:
        """The config-file key: the flag's name (`--log-level` → log_level, `--fixtures` → fixtures)."""
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()


OPTIONS = (
    Option("host", "--host", _text, "address to bind (default 127.0.0.1; a non-loopback address exposes the emulator)"),
    Option("port", "--port", _integer(0, 65535), "port (default 8080; 0 picks a free one)"),
    Option("vendors", "--vendors", _vendor_list, "comma-separated vendors to serve (default: all installed)"),
    Option(
        "single_vendor", "--vendor", _text, "serve only this vendor, at the root (/v1/...), for SDKs with fixed paths"
    ),
    Option("fixtures_dir", "--fixtures", Path, "directory of <vendor>.yaml fixtures that replace the shipped ones"),
    Option("strict", "--strict", _boolean, "validate every response against the spec (default false)"),
    Option("log_level", "--log-level", _choice("DEBUG", "INFO", "WARNING", "ERROR", fold=str.upper), "default INFO"),
    Option("log_format", "--log-format", _choice("text", "json"), "text (default) or json: one line per request"),
    Option("journal_size", "--journal-size", _integer(1, 1_000_000), "requests kept in the journal (default 1000)"),
    Option(
        "retain",
        "--retain",
        _integer(10, 10_000_000),
        "uploads and created keys kept before the oldest are forgotten, resources 4x (default 10000)",
    ),
    Option(
        "overrides",
        "--set",
        _overrides,
        "change a vendor's fixture setting: vendor.key=value, e.g. scripe.uploads.caps=reference (repeatable)",
    ),
    Option(
        "cors_origins",
        "--cors-origin",
        _vendor_list,
        "a web origin allowed to call the APIs from a browser (repeatable; '*' for any; default: loopback origins)",
    ),
    Option(
        "allowed_hosts",
        "--allowed-host",
        _vendor_list,
        "a Host name the emulator answers besides loopback names and the bound address; * for any (repeatable)",
    ),
    Option(
        "control_token", "--control-token", _text, "require this token on every control API call (for a shared bind)"
    ),
    Option(
        "bucket_suffix",
        "--bucket-suffix",
        _text,
        "suffix for bucket names (default: random per start; '' for plain names like scripe-uploads)",
    ),
)
CONFIG_KEYS = {o.key for o in OPTIONS}


def _config_values(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    values = {key.replace("-", "_"): value for key, value in raw.items()}
    unknown = sorted(set(values) - CONFIG_KEYS)
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(CONFIG_KEYS))}"
        )
    return values


def _parsed(option: Option, value: Any, where: str) -> Any:
    if isinstance(value, (list, tuple)) and option.name in ("vendors", "overrides", "cors_origins", "allowed_hosts"):
        value = ("," if option.name == "vendors" else ";").join(map(str, value))
    if isinstance(value, bool):
        value = "true" if value else "false"
    try:
        return option.parse(str(value))
    except ValueError as exc:
        raise SettingsError(f"{where}={value!r}: {exc}") from None


def resolve(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None, config: Path | None = None
) -> tuple[Settings, dict[str, str]]:
    """Settings from flags > environment > config file > defaults, and where each value came from."""
    env = os.environ if environ is None else environ
    config = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    from_file = _config_values(config) if config is not None else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if flags.get(option.name) is not None:
            raw = flags[option.name]
            values[option.name] = raw if not isinstance(raw, str) else _parsed(option, raw, option.flag)
            sources[option.name] = f"flag {option.flag}"
        elif option.env in env:
            values[option.name] = _parsed(option, env[option.env], option.env)
            sources[option.name] = f"env {option.env}"
        elif option.key in from_file:
            values[option.name] = _parsed(option, from_file[option.key], f"{config}: {option.key}")
            sources[option.name] = f"config {config}"
        else:
            sources[option.name] = "default"
    extra = {k: v for k, v in flags.items() if k not in {o.name for o in OPTIONS} and v is not None}
    settings = Settings(**values, **extra)
    return settings, sources


def describe(settings: Settings, sources: Mapping[str, str]) -> list[tuple[str, Any, str]]:
    """(name, value, where it came from) for every option, for `upload-emulator config`."""
    known = {f.name for f in fields(settings)}
    return [(o.key, getattr(settings, o.name), sources.get(o.name, "default")) for o in OPTIONS if o.name in known]

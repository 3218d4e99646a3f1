"""Find the specs and fixtures: a user's directory first, then the wheel's copy, then the checkout.

The wheel ships `specs/` and `fixtures/` as `upload_emulator/_data/` (see pyproject); an editable
install reads them straight from the repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent  # upload_emulator/, where a wheel keeps _data/
CACHE_FORMAT = "1"  # part of every cached copy's name: a change to what is cached starts afresh


def data_dir(kind: str) -> Path:
    """The shipped directory for `kind` ("specs" or "fixtures")."""
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no {kind}/ directory shipped with upload-emulator")


def load_yaml(path: Path) -> Any:
    """Parse a spec or fixture file safely (no arbitrary objects).

    A shipped file is read from a JSON copy in the user's cache when one is there for exactly
    its bytes (`cache_dir()`, named by their SHA-256): start-up reads nine such files, and JSON
    parses them in a thirtieth of libyaml's time, without importing PyYAML at all (about 45 ms
    of a 0.3-0.4 s start). A copy is kept only of a document JSON gives back unchanged (no
    dates, no keys that are not strings); a cache that cannot be written is simply not used.
    """
    raw = path.read_bytes()
    copy = _cached_copy(path, raw)
    if copy is not None:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(copy.read_bytes())
    document = parse_yaml(raw)
    if copy is not None:
        _keep(copy, document)
    return document


class DataFileError(ValueError):
    """Text that is not YAML (PyYAML's own error, as a ValueError its callers already handle)."""


def parse_yaml(text: str | bytes) -> Any:
    """YAML to data with PyYAML's safe loader, libyaml's (ten times faster) where PyYAML has it."""
    import yaml  # only where no cached copy serves: most starts never import it

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as bad:
        raise DataFileError(str(bad)) from bad


def cache_dir() -> Path:
    """Where JSON copies of the shipped specs and fixtures are kept (XDG's cache directory)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "upload-emulator" / "data"


def _cached_copy(path: Path, raw: bytes) -> Path | None:
    """The copy's path for a shipped file's bytes; None for a user's own file (never cached: the
    cache then holds one copy per shipped file and version, not one per file a test wrote)."""
    if path.resolve().parent not in (data_dir("specs").resolve(), data_dir("fixtures").resolve()):
        return None
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return cache_dir() / f"{path.parent.name}-{path.stem}-{CACHE_FORMAT}-{digest}.json"


def _keep(copy: Path, document: Any) -> None:
    """Write the copy (whole or not at all), and drop older copies of the same file."""
    try:
        text = json.dumps(document)
    except (TypeError, ValueError):  # a date, a set: JSON cannot say it, so it is parsed from YAML every time
        return
    if json.loads(text) != document:
        return  # JSON would change it (an integer key): the same
    with contextlib.suppress(OSError):
        copy.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=copy.parent, suffix=".part")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            os.replace(temporary, copy)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        stem = copy.name.rsplit("-", 1)[0]
        for older in copy.parent.glob(f"{stem}-*.json"):
            if older != copy:
                older.unlink(missing_ok=True)


def spec_path(name: str) -> Path:
    return data_dir("specs") / f"{name}.yaml"


def fixture_path(vendor: str, fixtures_dir: Path | None = None, shipped: Path | None = None) -> Path:
    """`<fixtures_dir>/<vendor>.yaml` if there is one, else the vendor's own (`shipped`, or the
    shipped fixtures)."""
    if fixtures_dir is not None:
        if not Path(fixtures_dir).is_dir():
            raise FileNotFoundError(f"fixtures directory {fixtures_dir} does not exist")
        candidate = Path(fixtures_dir) / f"{vendor}.yaml"
        if candidate.is_file():
            return candidate
    return shipped or data_dir("fixtures") / f"{vendor}.yaml"

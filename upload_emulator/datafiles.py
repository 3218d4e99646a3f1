"""Find the specs and fixtures: a user's directory first, then the wheel's copy, then the checkout.

The wheel ships `specs/` and `fixtures/` as `upload_emulator/_data/` (see pyproject); an editable
install reads them straight from the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it: ten times faster, and start-up reads five specs.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PACKAGE = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    """The shipped directory for `kind` ("specs" or "fixtures")."""
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no {kind}/ directory shipped with upload-emulator")


def load_yaml(path: Path) -> Any:
    """Parse a spec or fixture file safely (no arbitrary objects), with libyaml when present."""
    return yaml.load(path.read_text(), Loader=_LOADER)


def spec_path(name: str) -> Path:
    return data_dir("specs") / f"{name}.yaml"


def fixture_path(vendor: str, fixtures_dir: Path | None = None) -> Path:
    """`<fixtures_dir>/<vendor>.yaml` if there is one, else the shipped fixtures."""
    if fixtures_dir is not None:
        if not Path(fixtures_dir).is_dir():
            raise FileNotFoundError(f"fixtures directory {fixtures_dir} does not exist")
        candidate = Path(fixtures_dir) / f"{vendor}.yaml"
        if candidate.is_file():
            return candidate
    return data_dir("fixtures") / f"{vendor}.yaml"

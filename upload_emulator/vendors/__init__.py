"""The installed vendors: each is `specs/<name>.yaml` + `fixtures/<name>.yaml` + a module here.

Nothing else lists the vendors, and only the composition root (`app.py`) and the command line
read this registry: everything below them is handed what it needs (worlds, dialects, specs).
A module holds the handlers keyed by the spec's
operationIds (`HANDLERS`) and, when the vendor's error shape is its own, the dialect
that renders it (`DIALECTS`). A module may also write the rules its fixture chooses into
the served schema (`refine_spec`), so the document states what the server enforces.
`check` tells at start-up, in one message, what is missing.
"""

from __future__ import annotations

import pkgutil
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from upload_emulator.core.datafiles import data_dir
from upload_emulator.core.settings import Settings


class VendorSetupError(ValueError):
    """A vendor is installed incompletely (a missing spec, fixture or handler table)."""


ENTRY_POINTS = "upload_emulator.vendors"  # where another package offers a vendor of its own


@cache
def _plugins() -> dict[str, str]:
    """Vendors other installed packages offer: entry point name -> module (see docs/adding-a-vendor.md)."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINTS)}


@cache
def installed() -> tuple[str, ...]:
    """Every vendor: the modules in this package and those other packages offer, in name order
    (the spec and fixture are checked later)."""
    own = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    return tuple(sorted(own | set(_plugins())))


def served(settings: Settings) -> tuple[str, ...]:
    """The vendors to mount: the single one, the ones asked for, or every installed one."""
    if settings.single_vendor:
        return (settings.single_vendor,)
    return settings.vendors or installed()


def module_for(vendor: str) -> ModuleType:
    if vendor not in installed():
        raise VendorSetupError(f"unknown vendor {vendor!r}; installed: {', '.join(installed())}")
    return import_module(_plugins().get(vendor) or f"{__name__}.{vendor}")


def _data(vendor: str, kind: str) -> Path:
    """The vendor's shipped spec or fixture: in `specs/` and `fixtures/`, or, for a vendor another
    package offers, under the directory its module names as `DATA_DIR`."""
    own = getattr(module_for(vendor), "DATA_DIR", None)
    return (Path(own) / kind if own is not None else data_dir(kind)) / f"{vendor}.yaml"


def scenario_file(vendor: str) -> Path:
    """The vendor's documented paths as scenarios, for `upload-emulator scenarios run`."""
    return _data(vendor, "scenarios")


def spec_file(vendor: str) -> Path:
    return _data(vendor, "specs")


def fixture_file(vendor: str) -> Path:
    """The vendor's own fixtures (a user's `--fixtures` directory may replace them)."""
    return _data(vendor, "fixtures")


def handlers_for(vendor: str) -> dict:
    """A copy of the vendor's handler table: each app owns its own (a test may swap one in)."""
    return dict(module_for(vendor).HANDLERS)


def refine_spec(vendor: str, document: dict, worlds: dict) -> None:
    """Let `vendor`'s module write its fixture's rules (allow-lists, caps, the served vendors)
    into its spec `document` before it is compiled; most modules have nothing to add."""
    refine = getattr(module_for(vendor), "refine_spec", None)
    if refine is not None:
        refine(document, worlds)


def outcomes_of(vendor: str) -> dict:
    """What of `vendor`'s async work a test may steer (its module's `OUTCOMES`), by kind."""
    return dict(getattr(module_for(vendor), "OUTCOMES", {}))


def declared_dialects() -> dict:
    """Every dialect a vendor module declares, by name (see `dialects.Dialect`)."""
    found: dict = {}
    for vendor in installed():
        found.update(getattr(module_for(vendor), "DIALECTS", {}))
    return found


def check(vendor: str) -> None:
    """Raise VendorSetupError naming each piece of `vendor` that is missing."""
    module = module_for(vendor)
    problems = []
    if not isinstance(getattr(module, "HANDLERS", None), dict):
        problems.append(f"{module.__name__} has no HANDLERS table")
    for path in (spec_file(vendor), fixture_file(vendor)):
        if not path.is_file():
            problems.append(f"{path.parent.name}/{path.name} is missing")
    if problems:
        raise VendorSetupError(f"vendor {vendor!r} is incomplete: " + "; ".join(problems))

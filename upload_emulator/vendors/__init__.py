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
from types import ModuleType

from upload_emulator.core.datafiles import data_dir
from upload_emulator.core.settings import Settings


class VendorSetupError(ValueError):
    """A vendor is installed incompletely (a missing spec, fixture or handler table)."""


@cache
def installed() -> tuple[str, ...]:
    """Every vendor module in this package, in name order (the spec and fixture are checked later)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


def served(settings: Settings) -> tuple[str, ...]:
    """The vendors to mount: the single one, the ones asked for, or every installed one."""
    if settings.single_vendor:
        return (settings.single_vendor,)
    return settings.vendors or installed()


def module_for(vendor: str) -> ModuleType:
    if vendor not in installed():
        raise VendorSetupError(f"unknown vendor {vendor!r}; installed: {', '.join(installed())}")
    return import_module(f"{__name__}.{vendor}")


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
        problems.append(f"upload_emulator/vendors/{vendor}.py has no HANDLERS table")
    if not (data_dir("specs") / f"{vendor}.yaml").is_file():
        problems.append(f"specs/{vendor}.yaml is missing")
    if not (data_dir("fixtures") / f"{vendor}.yaml").is_file():
        problems.append(f"fixtures/{vendor}.yaml is missing")
    if problems:
        raise VendorSetupError(f"vendor {vendor!r} is incomplete: " + "; ".join(problems))

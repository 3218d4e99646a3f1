"""Per-vendor handlers, keyed by the operationIds of specs/<vendor>.yaml."""

from __future__ import annotations

from importlib import import_module


def handlers_for(vendor: str) -> dict:
    """A copy of the vendor's handler table: each app owns its own (a test may swap one in)."""
    module = "upload_emulator.admin" if vendor.startswith("_") else f"upload_emulator.vendors.{vendor}"
    return dict(import_module(module).HANDLERS)

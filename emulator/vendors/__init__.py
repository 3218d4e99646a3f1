"""Per-vendor handlers, keyed by the operationIds of specs/<vendor>.yaml."""

from __future__ import annotations

from importlib import import_module


def handlers_for(vendor: str) -> dict:
    if vendor.startswith("_"):  # the control plane is routed like a vendor
        return import_module("emulator.admin").HANDLERS
    return import_module(f"emulator.vendors.{vendor}").HANDLERS

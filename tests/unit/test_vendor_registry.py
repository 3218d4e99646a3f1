"""The vendor set is what is installed, and a half-installed or misspelt vendor stops start-up."""

from __future__ import annotations

import pytest
from support import fixtures_dir_with

from upload_emulator import vendors
from upload_emulator.app import create_app
from upload_emulator.core.settings import Settings


def test_the_served_vendors_are_every_module_with_a_spec_and_a_fixture():
    names = vendors.installed()
    assert "scripe" in names and "streamloop" in names
    for name in names:
        assert vendors.spec_file(name).is_file() and vendors.fixture_file(name).is_file()
    assert vendors.served(Settings()) == names


def test_a_misspelt_dialect_stops_start_up_with_a_message_that_names_it(tmp_path):
    fixtures = fixtures_dir_with(tmp_path, "scripe", lambda data: data["profile"].update(dialect="scirpe"))
    with pytest.raises(ValueError, match=r"dialect 'scirpe' is not one of .*problem\+json.*scripe"):
        create_app(Settings(fixtures_dir=fixtures))


def test_a_vendor_module_without_a_spec_is_reported_as_incomplete(monkeypatch):
    monkeypatch.setattr(vendors, "installed", lambda: ("scripe", "streamloop", "boxly"))
    monkeypatch.setattr(vendors, "module_for", lambda name: type("Module", (), {"HANDLERS": {}})())
    with pytest.raises(vendors.VendorSetupError, match=r"'boxly' is incomplete: specs/boxly.yaml is missing"):
        vendors.check("boxly")


def test_an_unknown_vendor_name_lists_the_installed_ones():
    with pytest.raises(vendors.VendorSetupError, match=r"installed: .*scripe"):
        vendors.module_for("nosuch")


def test_each_vendor_declares_its_own_error_dialect_in_its_module():
    from upload_emulator.core.dialects import SHARED

    assert set(SHARED) == {"problem+json"}
    assert "scripe" in vendors.declared_dialects()

"""Shared fixtures: a fresh strict-mode app per test, and a helper that speaks Scripe."""

from __future__ import annotations

import pytest
from support import Adclear, Ctxfy, Scripe, Streamloop, make_app

from upload_emulator.app import emulator_of


@pytest.fixture
def app():
    """A fresh emulator per test; any server error it recorded fails the test."""
    application = make_app()
    yield application
    emu = emulator_of(application)
    errors = emu.take_server_errors()
    emu.close()
    assert not errors, f"the emulator recorded server errors: {errors}"


@pytest.fixture
def emu(app):
    return emulator_of(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def scripe(client, emu):
    return Scripe(client, emu)


@pytest.fixture
def streamloop(client):
    return Streamloop(client)


@pytest.fixture
def ctxfy(client):
    return Ctxfy(client)


@pytest.fixture
def adclear(client):
    return Adclear(client)

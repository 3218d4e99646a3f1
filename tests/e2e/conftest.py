"""A live emulator on a free loopback port, shared by the e2e tests and reset before each."""

from __future__ import annotations

import pytest
import requests
from support import make_app

from upload_emulator.app import emulator_of
from upload_emulator.serving.server import LiveServer
from upload_emulator.testing import EmulatorHandle


@pytest.fixture(scope="session")
def live_server():
    app = make_app()
    with LiveServer(app) as server:
        yield server
    emulator_of(app).close()


@pytest.fixture
def live(live_server):
    emu = emulator_of(live_server.app)
    emu.reset()
    yield live_server
    errors = emu.take_server_errors()
    assert not errors, f"the emulator recorded server errors: {errors}"


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def s3(live):
    """An ordinary boto3 S3 client pointed at the emulator, with its fixed credentials."""
    return EmulatorHandle(live.url, emulator_of(live.app)).s3_client()

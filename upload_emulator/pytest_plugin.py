"""pytest fixtures for upload-emulator (registered through the `pytest11` entry point).

    def test_upload(upload_emulator):
        base = upload_emulator.base_url("scripe")     # a live server on a free port
        ...

One live emulator per test session, in a background thread; `upload_emulator` resets it
before each test and fails the test if the emulator hit a bug during it. Override
`upload_emulator_settings` to change how it runs. Nothing heavy is imported until a
fixture is used, because pytest loads this module in every run.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def upload_emulator_settings():
    """Settings for the session's emulator (strict: every response is checked against the spec)."""
    from upload_emulator.core.settings import Settings

    return Settings(strict=True)


@pytest.fixture(scope="session")
def upload_emulator_server(upload_emulator_settings):
    """A live emulator on 127.0.0.1 and a free port, for the whole session."""
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.serving.server import LiveServer

    app = create_app(upload_emulator_settings)
    server = LiveServer(app, host=upload_emulator_settings.host, port=0).start()
    yield server
    server.stop()
    emulator_of(app).close()


@pytest.fixture
def upload_emulator(upload_emulator_server):
    """The session's emulator, reset to its fixtures, as an `EmulatorHandle`."""
    from upload_emulator.app import emulator_of
    from upload_emulator.testing import EmulatorHandle

    handle = EmulatorHandle(upload_emulator_server.url, emulator_of(upload_emulator_server.app))
    handle.reset()
    yield handle
    handle.raise_server_errors()


@pytest.fixture
def emulator_app(upload_emulator_settings):
    """A fresh Flask app for `emulator_app.test_client()`: no socket, no thread."""
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.testing import EmulatorError

    app = create_app(upload_emulator_settings)
    yield app
    emu = emulator_of(app)
    errors = emu.take_server_errors()
    emu.close()
    if errors:
        raise EmulatorError("upload-emulator recorded server errors:\n" + "\n".join(errors))

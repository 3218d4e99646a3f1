"""A live emulator on a free loopback port, shared by the e2e tests and reset before each."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from support import make_app

from emulator.app import emulator_of
from emulator.server import LiveServer


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
    settings = emulator_of(live.app).settings
    return boto3.client(
        "s3",
        endpoint_url=f"{live.url}/s3",
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )

"""A client generated from a vendor's spec, as integrators make one (openapi-python-client), runs
the whole flow against the emulator: Adclear's chunk PUT, the one operation that carries bytes,
is generated and uploads."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import adclear_auth

from upload_emulator.app import emulator_of
from upload_emulator.vendors import spec_file

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def adclear_client(tmp_path_factory):
    """The generated package, importable; its generator's own run must not warn about the chunk PUT."""
    where = tmp_path_factory.mktemp("generated")
    (where / "config.yaml").write_text("package_name_override: adclear_client\npost_hooks: []\n")
    tool = Path(sys.executable).with_name("openapi-python-client")
    if not tool.exists():
        pytest.fail("openapi-python-client is part of the test tools: bin/setup test installs it")
    done = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            str(spec_file("adclear")),
            "--output-path",
            str(where / "out"),
            "--config",
            str(where / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Endpoint will not be generated" not in done.stdout, done.stdout
    sys.path.insert(0, str(where / "out"))
    try:
        yield importlib.import_module("adclear_client")
    finally:
        sys.path.remove(str(where / "out"))


def test_a_generated_adclear_client_initiates_and_uploads_in_chunks(live, adclear_client):
    from adclear_client.api.default import get_upload, initiate_upload, upload_chunk
    from adclear_client.client import Client
    from adclear_client.models.initiate_request import InitiateRequest
    from adclear_client.models.initiate_request_content_type import InitiateRequestContentType
    from adclear_client.types import File

    auth = adclear_auth()
    client = Client(base_url=f"{live.url}/adclear", headers={"Authorization": auth["Authorization"]})
    user = auth["x-external-user-id"]
    data = os.urandom(3 * MIB + 7)
    started = initiate_upload.sync(
        client=client,
        body=InitiateRequest(
            file_name="spot.mp4", file_size=len(data), content_type=InitiateRequestContentType("video/mp4")
        ),
        x_external_user_id=user,
    )
    upload_id = started.upload_id
    for start in range(0, len(data), 2 * MIB):
        piece = data[start : start + 2 * MIB]
        answer = upload_chunk.sync_detailed(
            upload_id,
            client=client,
            body=File(payload=piece),
            x_external_user_id=user,
            content_range=f"bytes {start}-{start + len(piece) - 1}/{len(data)}",
        )
        assert answer.status_code == 200, answer.content
    assert get_upload.sync(upload_id, client=client, x_external_user_id=user).status.value == "completed"
    record = emulator_of(live.app).uploads.get(str(upload_id))
    assert record.sha256 == hashlib.sha256(data).hexdigest()

"""`upload-emulator serve` stopped by SIGTERM or Ctrl-C gives back the disk its stored objects used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests
from support import free_port, wait_until_healthy

SCRIPE = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_server_leaves_no_stored_object_files_behind(tmp_path, stop):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port), "--log-level", "WARNING"],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(url, server)
        for _ in range(2):  # two objects bigger than the memory spool: two files on disk
            minted = requests.post(
                f"{url}/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=SCRIPE, timeout=10
            ).json()["data"]
            put = requests.put(
                minted["uploadUrl"], data=os.urandom(3 << 20), headers={"Content-Type": "audio/mpeg"}, timeout=10
            )
            assert put.status_code == 200
        assert len(list(tmp_path.glob("upload-emulator-*"))) == 2
        server.send_signal(stop)
        assert server.wait(15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert list(tmp_path.glob("upload-emulator-*")) == []
    assert b"Traceback" not in server.stderr.read()

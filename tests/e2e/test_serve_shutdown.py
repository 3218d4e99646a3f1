"""`upload-emulator serve` gives back the disk its stored objects used: at SIGTERM or Ctrl-C, and,
after a SIGKILL that left no chance to clean up, as soon as the next emulator starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import free_port, wait_until_healthy

SCRIPE = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}


def serve(tmp_path: Path, background: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port), "--log-level", "WARNING"]
    if background:  # what a shell does to a job a script starts with `&`: SIGINT ignored, kept across exec
        command = ["bash", "-c", 'trap "" INT; exec "$@"', "bash", *command]
    server = subprocess.Popen(
        command, env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_until_healthy(url, server)
    return server, url


def store_large_objects(url: str, count: int) -> None:
    """Objects bigger than the memory spool: each one a file on disk."""
    for _ in range(count):
        minted = requests.post(
            f"{url}/scripe/v1/uploads", json={"contentType": "audio/mpeg"}, headers=SCRIPE, timeout=10
        ).json()["data"]
        put = requests.put(
            minted["uploadUrl"], data=os.urandom(3 << 20), headers={"Content-Type": "audio/mpeg"}, timeout=10
        )
        assert put.status_code == 200


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.glob("upload-emulator-*/*") if p.name.startswith("body-")]


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.kill()
        server.wait(10)


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "started-with-&"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_server_leaves_no_stored_object_files_behind(tmp_path, signum, background):
    server, url = serve(tmp_path, background)
    try:
        store_large_objects(url, 2)
        assert len(stored_files(tmp_path)) == 2
        server.send_signal(signum)
        assert server.wait(15) == 0
    finally:
        stop(server)
    assert list(tmp_path.iterdir()) == []
    assert b"Traceback" not in server.stderr.read()


def test_what_a_killed_server_left_on_disk_is_gone_once_the_next_one_has_started(tmp_path):
    killed, url = serve(tmp_path)
    try:
        store_large_objects(url, 3)
        left = stored_files(tmp_path)
        assert len(left) == 3
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    finally:
        stop(killed)
    assert all(path.exists() for path in left)  # a SIGKILL leaves no chance to clean up
    following, _ = serve(tmp_path)
    try:
        assert not any(path.exists() for path in left)
        assert list(tmp_path.iterdir()) == []  # the new one has stored nothing yet: no directory of its own
    finally:
        following.send_signal(signal.SIGTERM)
        following.wait(15)
        stop(following)


def test_a_server_a_script_started_with_an_ampersand_stops_on_kill_int(tmp_path):
    port = free_port()
    script = (
        f"{sys.executable} -m upload_emulator.cli serve --port {port} --log-level WARNING >/dev/null 2>&1 &\n"
        "echo $!\nwait $!\necho exited $?\n"
    )
    shell = subprocess.Popen(
        ["bash", "-c", script], env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(shell.stdout.readline())
        wait_until_healthy(f"http://127.0.0.1:{port}", shell)
        os.kill(pid, signal.SIGINT)
        out, _ = shell.communicate(timeout=15)
        assert out.strip() == "exited 0"
    finally:
        if shell.poll() is None:
            shell.kill()
            os.kill(pid, signal.SIGKILL)
    assert list(tmp_path.iterdir()) == []

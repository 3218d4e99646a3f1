"""schemathesis's own CLI over real HTTP, as a user runs it: `schemathesis run specs/<vendor>.yaml
--url <base> --checks all`, with the repository's schemathesis.toml, against `upload-emulator
serve` with its default settings (the documented rate limits on). Every installed vendor, and
the control plane; bounded by --max-examples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import free_port, make_app, wait_until_healthy
from vendor_cases import case_for

from upload_emulator.app import emulator_of
from upload_emulator.vendors import installed, spec_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = "25"
SEED = "20261202"  # one reproducible sample per run: a failure here replays with the same seed


@pytest.fixture(scope="module")
def served():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "upload_emulator.cli", "serve", "--port", str(port), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(15)


def schemathesis_run(spec: Path | str, base: str | None, headers: dict[str, str]) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).with_name("schemathesis")
    flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    flags += ["--url", base] if base else []
    command = [str(tool), "run", str(spec), "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED, *flags]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"}
    )


@pytest.mark.parametrize("vendor", installed())
def test_schemathesis_cli_finds_nothing_in_a_vendor_served_over_http(served, vendor):
    app = make_app()
    case = case_for(app, vendor)
    emulator_of(app).close()
    done = schemathesis_run(spec_file(vendor), served + case.vendor.mount_path, case.credentials)
    assert done.returncode == 0, done.stdout[-6000:]
    assert " generated, " in done.stdout and " passed" in done.stdout, done.stdout[-800:]  # it ran cases


def test_schemathesis_cli_finds_nothing_in_the_control_plane_over_http(served):
    # The control plane's served spec names the vendors it serves; the file in specs/ cannot.
    done = schemathesis_run(served + "/_emulator/openapi.json", None, {})
    assert done.returncode == 0, done.stdout[-6000:]

"""The README's curl walkthroughs run as written against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from upload_emulator.vendors import installed

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthroughs() -> dict[str, str]:
    """The README's curl blocks, by the vendor each one walks through."""
    return dict(re.findall(r"<!-- walkthrough: (\w+) -->\n```bash\n(.*?)```", README.read_text(), re.S))


def test_every_vendor_has_a_readme_walkthrough():
    assert set(walkthroughs()) == set(installed())


@pytest.mark.parametrize("vendor", ["scripe", "streamloop", "ctxfy", "adclear"])
def test_a_readme_walkthrough_uploads_and_finishes_the_flow(live, tmp_path, vendor):
    if shutil.which("curl") is None:
        pytest.fail("curl is required for this test (apt-get install curl)")
    script = walkthroughs()[vendor].replace("http://127.0.0.1:8080", live.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "PUT 200"
    last = json.loads(lines[-1])
    if vendor == "scripe":
        assert last["data"]["status"] == "DONE"
        assert last["data"]["result"]["sourceId"].startswith("src_")
    elif vendor == "streamloop":
        assert (last["uploaded"], last["fileSize"]) == (True, 6)
    elif vendor == "ctxfy":
        assert lines[1] == "hello!"
        assert last["status"] == "COMPLETED" and last["type"] == "FILE"
    else:
        assert (last["status"], last["bytesReceived"]) == ("completed", 14)


def test_every_control_call_in_the_readme_works_as_written(live, tmp_path):
    [block] = re.findall(r"<!-- control-calls -->\n```bash\n(.*?)```", README.read_text(), re.S)
    script = block.replace("http://127.0.0.1:8080", live.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr + result.stdout[-2000:]
    emu_operations = {"/health", "/clock", "/keys", "/uploads", "/requests", "/faults", "/outcomes", "/deliveries"}
    assert all(f"$E{path}" in block for path in emu_operations | {"/spaces", "/reset"})


def test_the_readme_failure_paths_example_passes_as_written(tmp_path):
    [block] = re.findall(r"<!-- failure-paths-example -->\n```python\n(.*?)```", README.read_text(), re.S)
    (tmp_path / "test_failure_paths_example.py").write_text(block)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout[-1000:]

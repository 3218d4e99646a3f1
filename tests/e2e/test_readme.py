"""The README's curl walkthrough runs as written against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    match = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", text, re.S)
    assert match, "README lost its walkthrough block"
    return match.group(1)


def test_the_readme_walkthrough_mints_puts_redeems_and_sees_the_job_done(live, tmp_path):
    if shutil.which("curl") is None:
        pytest.fail("curl is required for this test (apt-get install curl)")
    script = walkthrough().replace("http://127.0.0.1:8080", live.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "PUT 200"
    job = json.loads(lines[-1])["data"]
    assert job["status"] == "DONE"
    assert job["result"]["sourceId"].startswith("src_")

"""The README's curl walkthroughs run as written against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthroughs() -> list[str]:
    blocks = re.findall(r"<!-- walkthrough -->\n```bash\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 2, "README lost a walkthrough block"
    return blocks


@pytest.mark.parametrize("index", [0, 1], ids=["scripe", "streamloop"])
def test_a_readme_walkthrough_uploads_and_finishes_the_flow(live, tmp_path, index):
    if shutil.which("curl") is None:
        pytest.fail("curl is required for this test (apt-get install curl)")
    script = walkthroughs()[index].replace("http://127.0.0.1:8080", live.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "PUT 200"
    last = json.loads(lines[-1])
    if index == 0:
        assert last["data"]["status"] == "DONE"
        assert last["data"]["result"]["sourceId"].startswith("src_")
    else:
        assert (last["uploaded"], last["fileSize"]) == (True, 6)

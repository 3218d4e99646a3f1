"""bin/setup, the first thing a newcomer runs: it fails at once, and says why, on an old Python."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_setup(python: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": python}
    return subprocess.run(["bash", str(ROOT / "bin" / "setup")], env=env, capture_output=True, text=True, timeout=30)


def test_setup_refuses_python_3_10_at_once_and_says_what_to_do(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.10.12"; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    result = run_setup(str(fake))
    assert result.returncode == 1
    assert "needs Python 3.11 or newer, and" in result.stderr and "Python 3.10.12" in result.stderr
    assert "PYTHON=python3.12 bin/setup" in result.stderr


def test_setup_says_when_there_is_no_python_at_all():
    result = run_setup("/nonexistent/python3")
    assert result.returncode == 1 and "was not found" in result.stderr


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = "bin/setup test && .venv/bin/python -m pytest"
    assert command in readme
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == command
    assert "bin/setup && .venv/bin/upload-emulator serve" in readme

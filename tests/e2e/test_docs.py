"""Every code block of the README and docs/ runs as written; each says how (`tests/docs_blocks.py`).

- `walkthrough NAME`, `live`: bash against a live emulator (its URL in place of
  127.0.0.1:8080); it must exit 0, and a walkthrough's first line must be `PUT 200`. Every
  installed vendor has exactly one walkthrough.
- `pytest`: a test module, run by pytest in a fresh directory with the plugin; `conftest`: a
  conftest.py, with a test that uses the plugin's fixture beside it.
- `python`: run as a script; `python-live`: the same against a live emulator, with `upl_…`
  replaced by an upload whose bytes are stored.
- `config`: a config file that `upload-emulator config --config FILE` accepts.
- `plugin-entry-point`: the entry point tests/e2e/test_vendor_plugin.py installs;
- `ci` (the README's two commands): `.ci/run` runs the test command on a clean clone, and
  tests/unit/test_setup_script.py holds it to the README; `browser`: tests/e2e/test_browser.py
  loads the page in Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from docs_blocks import KINDS, ROOT, blocks, of_kind, walkthrough

from upload_emulator.vendors import installed

LOCAL = "http://127.0.0.1:8080"


def ids(found):
    return [b.where for b in found]


def test_every_block_names_a_runner_this_suite_has():
    unmarked = [b.where for b in blocks() if b.kind not in KINDS]
    assert unmarked == [], f"blocks without a known <!-- run: KIND --> marker: {unmarked}"


@pytest.mark.parametrize("vendor", installed())
def test_every_vendor_has_one_walkthrough(vendor):
    assert walkthrough(vendor) is not None, f"no single `<!-- run: walkthrough {vendor} -->` block"


def bash(live, text: str, tmp_path) -> subprocess.CompletedProcess:
    if shutil.which("curl") is None:
        pytest.fail("curl is required for this test (apt-get install curl)")
    script = text.replace(LOCAL, live.url)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # the installed commands
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": path},
    )


@pytest.mark.parametrize("vendor", installed())
def test_a_vendors_walkthrough_runs_its_flow_as_written(live, tmp_path, vendor):
    done = bash(live, walkthrough(vendor).text, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    assert done.stdout.splitlines()[0] == "PUT 200", done.stdout[:500]


@pytest.mark.parametrize("block", of_kind("live"), ids=ids(of_kind("live")))
def test_a_live_block_runs_as_written(live, tmp_path, block):
    done = bash(live, block.text, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]


def run_pytest(directory) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("block", of_kind("pytest"), ids=ids(of_kind("pytest")))
def test_a_test_module_in_the_docs_passes_in_a_fresh_directory(tmp_path, block):
    (tmp_path / "test_from_the_docs.py").write_text(block.text)
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


@pytest.mark.parametrize("block", of_kind("conftest"), ids=ids(of_kind("conftest")))
def test_a_conftest_in_the_docs_configures_the_fixture(tmp_path, block):
    (tmp_path / "conftest.py").write_text(block.text)
    (tmp_path / "test_with_it.py").write_text(
        "def test_the_fixture_answers(upload_emulator):\n    assert upload_emulator.health()['vendors']\n"
    )
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("block", of_kind("python"), ids=ids(of_kind("python")))
def test_a_python_block_runs_as_a_script(tmp_path, block):
    done = subprocess.run([sys.executable, "-c", block.text], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("block", of_kind("python-live"), ids=ids(of_kind("python-live")))
def test_a_python_block_runs_against_a_live_emulator(live, tmp_path, block):
    key = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
    minted = requests.post(f"{live.url}/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=key).json()
    put = requests.put(minted["data"]["uploadUrl"], data=b"read me back", headers={"Content-Type": "text/plain"})
    assert put.status_code == 200
    script = block.text.replace(LOCAL, live.url).replace("upl_…", minted["data"]["id"])
    script += "\nassert body == b'read me back', body\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("block", of_kind("config"), ids=ids(of_kind("config")))
def test_a_config_file_in_the_docs_is_one_the_emulator_accepts(tmp_path, block):
    (tmp_path / "upload-emulator.toml").write_text(block.text)
    done = subprocess.run(
        [sys.executable, "-m", "upload_emulator.cli", "config", "--config", str(tmp_path / "upload-emulator.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_the_ci_blocks_are_the_two_commands_ci_and_the_setup_tests_check():
    commands = {b.arg: b.text.strip() for b in of_kind("ci")}
    assert commands == {
        "serve": "bin/setup && .venv/bin/upload-emulator serve",
        "test": "bin/setup test && .venv/bin/python -m pytest",
    }
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == commands["test"]


def test_the_browser_block_is_the_one_the_browser_test_loads():
    from test_browser import readme_page

    assert [readme_page()] == [b.text for b in of_kind("browser")]


@pytest.mark.parametrize("block", of_kind("needs-docker"), ids=ids(of_kind("needs-docker")))
def test_a_block_that_needs_docker_is_only_in_the_container_page_and_is_well_formed(block):
    """No Docker engine here: such a block is checked for syntax, and names what this repository has."""
    import yaml

    assert block.path.name == "container.md"
    if block.lang == "bash":
        assert subprocess.run(["bash", "-n", "-c", block.text]).returncode == 0
        assert "docker build -t upload-emulator ." in block.text
    elif block.lang == "yaml":
        compose = yaml.safe_load(block.text)
        assert compose["services"]["emulator"]["environment"]["UPLOAD_EMULATOR_ALLOWED_HOST"] == "emulator"
    else:
        compile(block.text, str(block.path), "exec")

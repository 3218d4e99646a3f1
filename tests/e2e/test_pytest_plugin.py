"""The pytest plugin as a user meets it: fixtures, helpers, and the README's example test."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_the_fixture_gives_a_live_reset_emulator_with_helpers(upload_emulator):
    key = upload_emulator.create_key("scripe", workspace="org_plugin", scopes=["sources:write"])
    api = upload_emulator.base_url("scripe")
    assert api.startswith("http://127.0.0.1:") and api.endswith("/scripe/v1")
    upload = requests.post(
        f"{api}/uploads", json={"contentType": "text/plain"}, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ).json()["data"]
    assert (
        requests.put(
            upload["uploadUrl"], data=b"plugin", headers={"Content-Type": "text/plain"}, timeout=10
        ).status_code
        == 200
    )
    [record] = upload_emulator.uploads(vendor="scripe")
    assert record["state"] == "uploaded"
    assert upload_emulator.content(upload["id"]) == b"plugin"
    s3 = upload_emulator.s3_client()
    assert s3.get_object(Bucket=record["bucket"], Key=record["key"])["Body"].read() == b"plugin"
    assert [e["operationId"] for e in upload_emulator.requests(vendor="scripe")] == ["createUpload"]


def test_state_does_not_leak_between_tests(upload_emulator):
    assert upload_emulator.uploads() == []
    assert upload_emulator.requests() == []


def test_the_clock_and_faults_are_one_call_each(upload_emulator):
    api = upload_emulator.base_url("scripe")
    auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
    upload = requests.post(f"{api}/uploads", json={"contentType": "audio/mpeg"}, headers=auth, timeout=10).json()
    upload_emulator.advance_clock(901)
    expired = requests.put(upload["data"]["uploadUrl"], data=b"x", headers={"Content-Type": "audio/mpeg"}, timeout=10)
    assert expired.status_code == 403
    upload_emulator.fault("scripe", "createUpload", status=503, times=1)
    assert (
        requests.post(f"{api}/uploads", json={"contentType": "audio/mpeg"}, headers=auth, timeout=10).status_code == 503
    )


def test_the_in_process_app_fixture_serves_the_test_client(emulator_app):
    response = emulator_app.test_client().get("/scripe/v1/health")
    assert response.json == {"status": "ok"}


def _readme_example() -> str:
    match = re.search(r"<!-- plugin-example -->\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert match, "README lost its plugin example"
    return match.group(1)


def test_the_readme_example_passes_in_a_fresh_project_that_installs_the_wheel_and_has_its_own_emulator_module(tmp_path):
    wheels, venv, project = tmp_path / "wheels", tmp_path / "venv", tmp_path / "project"
    project.mkdir()
    (project / "test_uploads.py").write_text(_readme_example())
    # A user project with a package of its own called `emulator`: the plugin must not import it.
    (project / "emulator").mkdir()
    (project / "emulator" / "__init__.py").write_text('WHO = "the user project"\n')
    (project / "test_own_emulator.py").write_text(
        "import emulator\n\n\ndef test_own_module_is_untouched(upload_emulator):\n"
        "    assert emulator.WHO == 'the user project'\n    assert upload_emulator.health()['status'] == 'ok'\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("upload_emulator-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The new project sees this environment's dependencies, but not its editable copy of us.
    (own_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import upload_emulator; print(upload_emulator.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), where
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_uploads.py", "test_own_emulator.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b4 passed\b", result.stdout), result.stdout[-1000:]

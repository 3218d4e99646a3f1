"""The pytest plugin as a user meets it: fixtures, helpers, and the README's example test."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
import requests
from docs_blocks import of_kind

from upload_emulator.core.version import __version__

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
    """docs/pytest-plugin.md's example test module."""
    [block] = [b for b in of_kind("pytest") if b.path.name == "pytest-plugin.md"]
    return block.text


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
    # `python -m build` makes the sdist, then the wheel from the sdist: both must carry the data.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("upload_emulator-*.whl")
    [sdist] = wheels.glob("upload_emulator-*.tar.gz")
    with tarfile.open(sdist) as packed:
        names = packed.getnames()
    assert any(n.endswith("/specs/adclear.yaml") for n in names) and any(
        n.endswith("/fixtures/ctxfy.yaml") for n in names
    )
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
    cli = venv / "bin" / "upload-emulator"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert (
        version
        == f"upload-emulator {importlib.metadata.version('upload-emulator')}"
        == f"upload-emulator {__version__}"
    )
    listed = subprocess.run([str(cli), "specs"], capture_output=True, text=True, cwd=project).stdout
    assert all(f"_data/specs/{name}.yaml: valid" in listed for name in ("scripe", "ctxfy", "streamloop", "adclear"))
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_uploads.py", "test_own_emulator.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b4 passed\b", result.stdout), result.stdout[-1000:]


def test_faults_can_be_listed_inspected_and_removed(upload_emulator):
    api = upload_emulator.base_url("scripe")
    fid = upload_emulator.fault("scripe", "createUpload", status=503, times=2)
    auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
    requests.post(f"{api}/uploads", json={"contentType": "audio/mpeg"}, headers=auth, timeout=10)
    assert [f["id"] for f in upload_emulator.faults()] == [fid]
    assert (upload_emulator.fault_info(fid)["fired"], upload_emulator.fault_info(fid)["remaining"]) == (1, 1)
    upload_emulator.remove_fault(fid)
    assert upload_emulator.faults() == []
    assert requests.post(f"{api}/uploads", json={"contentType": "audio/mpeg"}, headers=auth, timeout=10).ok


def test_one_upload_and_a_journal_entry_can_be_awaited(upload_emulator):
    api = upload_emulator.base_url("scripe")
    auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
    upload = requests.post(f"{api}/uploads", json={"contentType": "text/plain"}, headers=auth, timeout=10).json()
    entry = upload_emulator.wait_for_request(vendor="scripe", operation_id="createUpload", status=200)
    assert entry["requestId"]
    record = upload_emulator.upload(upload["data"]["id"])
    assert (record["state"], record["contentType"]) == ("pending", "text/plain")


def test_keys_can_be_revoked_and_outcomes_decided_from_the_handle(upload_emulator):
    key = next(k for k in upload_emulator.keys("ctxfy") if k["id"] == "ak_ada_main")
    upload_emulator.outcome("ctxfy", "source", "FAILED", times=1)
    upload_emulator.revoke_key(key["id"])
    answer = requests.post(
        upload_emulator.base_url("ctxfy") + "/v1/upload/s3",
        json={"filename": "a.txt", "contentType": "text/plain", "size": 1},
        headers={"Authorization": f"Bearer {key['key']}"},
        timeout=10,
    )
    assert answer.status_code == 401


def test_the_emulator_runs_outside_pytest_fixtures_as_a_context_manager():
    from upload_emulator.testing import running

    with running() as emulator:
        assert emulator.health()["status"] == "ok"
        url = emulator.url
        assert requests.get(f"{url}/scripe/v1/health", timeout=10).json() == {"status": "ok"}
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_emulator/health", timeout=2)

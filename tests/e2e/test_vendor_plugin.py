"""A vendor that another package offers is served, and every shared suite runs over it, with no shared file edited.

The made-up vendor (tests/vendor_kit/blobby_vendor: a spec, a fixture, a module of a few dozen
lines and a walkthrough) is installed the way a package would be: a distribution's metadata
on the path, declaring the entry point docs/adding-a-vendor.md shows. Then the shared suites
run in a fresh pytest process that finds it among the installed vendors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from docs_blocks import ROOT, of_kind

KIT = ROOT / "tests" / "vendor_kit" / "blobby_vendor"
WHOLE = [
    "tests/contract/test_specs_tell_the_truth.py",
    "tests/contract/test_control_api.py",
    "tests/unit/test_vendor_registry.py",
]
PARAMETRIZED = [
    "tests/contract/test_hostile_bodies.py",
    "tests/contract/test_foreign_hosts.py",
    "tests/fuzz/test_every_vendor_schemathesis.py",
    "tests/fuzz/test_schemathesis_cli_over_http.py",
    "tests/e2e/test_docs.py",
]


def installed_like_a_package(site: Path) -> None:
    """The kit's module, and a distribution whose entry points are the ones the docs show."""
    [block] = of_kind("plugin-entry-point")
    points = tomllib.loads(block.text)["project"]["entry-points"]["upload_emulator.vendors"]
    shutil.copytree(KIT, site / "blobby_vendor")
    info = site / "blobby_vendor-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: blobby-vendor\nVersion: 0.1\n")
    lines = "".join(f"{name} = {module}\n" for name, module in points.items())
    (info / "entry_points.txt").write_text(f"[upload_emulator.vendors]\n{lines}")


def pytest_over(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_vendor_from_another_package_runs_through_every_shared_suite(tmp_path):
    installed_like_a_package(tmp_path)
    listed = subprocess.run(
        [sys.executable, "-c", "from upload_emulator.vendors import installed; print(installed())"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert "'blobby'" in listed.stdout, listed.stderr
    whole = pytest_over(tmp_path, *WHOLE)
    assert whole.returncode == 0, whole.stdout[-4000:]
    over_it = pytest_over(tmp_path, "-k", "blobby", *PARAMETRIZED)
    assert over_it.returncode == 0, over_it.stdout[-4000:]
    ran = [line for line in over_it.stdout.splitlines() if line.startswith("PASSED") and "blobby" in line]
    for suite in PARAMETRIZED:
        assert any(suite in line for line in ran), f"{suite} ran nothing over blobby"
    assert not (ROOT / "upload_emulator" / "vendors" / "blobby.py").exists()  # nothing of it was added to the package

"""Record once, verify many: for every vendor with scenarios, a stand-in "real vendor" (a second
`upload-emulator serve --vendor V`) behind `record`, the vendor's scenarios run through it, and
`verify` of the recording against a fresh emulator.

- against an un-drifted stand-in the recording verifies clean (exit 0);
- against a drifted one (its 401 for a missing credential made a 403) exactly the exchanges
  that drift are reported, as status drifts, and nothing else;
- no key used in the run appears anywhere in the recording;
- a cut-short, an edited or another vendor's recording exits 2 with one line saying why;
- an upstream that is down gets the client a 502 in the vendor's shape, and nothing is recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from support import fixtures_dir_with, free_port

from upload_emulator.core.datafiles import load_yaml
from upload_emulator.drift.redact import fingerprint
from upload_emulator.vendors import installed, scenario_file

WITH_SCENARIOS = [v for v in installed() if scenario_file(v).exists()]
CLI = [sys.executable, "-m", "upload_emulator.cli"]


def wait_for(port: int, process: subprocess.Popen) -> None:
    """Until the port takes a connection (no request: a recorder would record it)."""
    import socket
    import time

    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "not up"
            time.sleep(0.05)


class Started:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*CLI, *args, "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self.port, self.process)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(15)
        return self.process.stderr.read()


def record_scenarios(vendor: str, out: Path, *stand_in: str) -> dict:
    """The vendor's scenarios, through `record`, against a stand-in; returns the scenario file's data."""
    upstream = Started("serve", "--vendor", vendor, "--log-level", "WARNING", *stand_in)
    recorder = Started("record", "--vendor", vendor, "--upstream", upstream.url, "--out", str(out))
    catalogue = load_yaml(scenario_file(vendor))
    keys = catalogue["fixture_keys"]
    extra = ["--key-read-only", keys["key_read_only"]] if "key_read_only" in keys else []
    try:
        ran = subprocess.run(
            [*CLI, "scenarios", "run", "--vendor", vendor, "--base-url", recorder.url, "--key", keys["key"], *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        recorder.stop()
        upstream.stop()
    return {"catalogue": catalogue, "ran": ran}


def verify(path: Path, catalogue: dict, *extra: str) -> subprocess.CompletedProcess:
    keys = catalogue["fixture_keys"]
    mapped = [a for k in keys.values() for a in ("--credential", f"{fingerprint(k)}={k}")]
    return subprocess.run([*CLI, "verify", str(path), *mapped, *extra], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("vendor", WITH_SCENARIOS)
def test_a_recording_against_an_undrifted_stand_in_verifies_clean_and_holds_no_key(tmp_path, vendor):
    out = tmp_path / f"{vendor}.har"
    done = record_scenarios(vendor, out)
    assert done["ran"].returncode == 0, done["ran"].stdout + done["ran"].stderr  # the catalogue holds
    text = out.read_text()
    document = json.loads(text)
    assert document["log"]["version"] == "1.2" and document["log"]["entries"]
    for key in [*done["catalogue"]["fixture_keys"].values()]:
        assert key not in text
    assert "X-Amz-Signature=redacted" in text or vendor == "adclear"  # presigned URLs lose their signatures
    report = tmp_path / "report.html"
    checked = verify(out, done["catalogue"], "--junit", str(tmp_path / "junit.xml"), "--html", str(report))
    assert checked.returncode == 0, checked.stdout
    assert f"{vendor}: 0 of {len(document['log']['entries'])} exchanges drifted" in checked.stdout
    assert "<testsuite" in (tmp_path / "junit.xml").read_text() and "http" not in report.read_text().split("<h1>")[0]


@pytest.mark.parametrize("vendor", WITH_SCENARIOS)
def test_a_drifted_stand_in_is_reported_exactly_where_it_drifted(tmp_path, vendor):
    def drift(data):  # the vendor now answers a request without a credential 403, not 401
        data["profile"]["errors"]["UNAUTHENTICATED"]["status"] = 403

    (tmp_path / "fixtures").mkdir()
    fixtures = fixtures_dir_with(tmp_path / "fixtures", vendor, drift)
    out = tmp_path / f"{vendor}.har"
    done = record_scenarios(vendor, out, "--fixtures", str(fixtures))
    entries = json.loads(out.read_text())["log"]["entries"]
    anonymous = {
        n
        for n, e in enumerate(entries)
        if not any(h["name"].lower() in ("authorization", "x-api-key") for h in e["request"]["headers"])
    }
    assert anonymous and all(entries[n]["response"]["status"] == 403 for n in anonymous)
    checked = verify(out, done["catalogue"])
    assert checked.returncode == 1, checked.stdout
    drifted = {int(line.split("#")[1].split()[0]) for line in checked.stdout.splitlines() if line.startswith("DRIFT")}
    assert drifted == anonymous, checked.stdout
    for line in checked.stdout.splitlines():
        if line.startswith("    emulator:"):
            assert line.strip() == "emulator: status: vendor 403, emulator 401", checked.stdout


@pytest.mark.parametrize("vendor", WITH_SCENARIOS[:1])
def test_an_unusable_recording_exits_2_with_one_line_saying_why(tmp_path, vendor):
    out = tmp_path / "whole.har"
    done = record_scenarios(vendor, out)
    text = out.read_text()
    cut = tmp_path / "cut.har"
    cut.write_text(text[: len(text) // 2])
    edited = tmp_path / "edited.har"
    edited.write_text(text.replace('"status": 200', '"status": 201', 1))
    other = tmp_path / "other.har"
    other.write_text(text.replace(f'"vendor": "{vendor}"', '"vendor": "nobody"'))
    for path, why in ((cut, "cut short"), (edited, "changed after recording"), (other, "installed:")):
        checked = verify(path, done["catalogue"])
        assert checked.returncode == 2 and why in checked.stderr, (path.name, checked.stderr)
        assert len(checked.stderr.strip().splitlines()) == 1 and "Traceback" not in checked.stderr


@pytest.mark.parametrize("vendor", WITH_SCENARIOS)
def test_an_upstream_that_is_down_is_a_502_in_the_vendors_shape_and_nothing_is_recorded(tmp_path, vendor):
    out = tmp_path / "down.har"
    recorder = Started("record", "--vendor", vendor, "--upstream", f"http://127.0.0.1:{free_port()}", "--out", str(out))
    try:
        answer = requests.get(recorder.url + "/anything", timeout=30)
    finally:
        said = recorder.stop()
    assert answer.status_code == 502 and answer.json()
    assert "did not answer" in said and "nothing recorded" in said
    assert json.loads(out.read_text())["log"]["entries"] == []


def test_every_scenario_file_names_the_fixture_keys_it_runs_with():
    for vendor in WITH_SCENARIOS:
        catalogue = yaml.safe_load(scenario_file(vendor).read_text())
        assert "key" in catalogue["fixture_keys"] and catalogue["scenarios"], vendor
    assert os.path.basename(scenario_file("scripe")) == "scripe.yaml"


def test_the_ci_recipe_in_the_docs_records_and_verifies_as_written(tmp_path):
    from docs_blocks import of_kind

    [block] = of_kind("drift")
    upstream = Started("serve", "--vendor", "scripe", "--log-level", "WARNING")
    key = load_yaml(scenario_file("scripe"))["fixture_keys"]["key"]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "UPSTREAM": upstream.url, "SCRIPE_KEY": key, "PORT": str(free_port()), "PATH": path}
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        upstream.stop()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (
        "0 of" in done.stdout
        and (tmp_path / "drift-report.html").exists()
        and key not in (tmp_path / "drift" / "scripe.har").read_text()
    )


@pytest.mark.parametrize("vendor", WITH_SCENARIOS)
def test_every_scenario_runs_as_documented_against_the_emulator_itself_slow_ones_on_its_clock(vendor):
    served = Started("serve", "--vendor", vendor, "--log-level", "WARNING")
    keys = load_yaml(scenario_file(vendor))["fixture_keys"]
    extra = ["--key-read-only", keys["key_read_only"]] if "key_read_only" in keys else []
    try:
        ran = subprocess.run(
            [
                *CLI,
                "scenarios",
                "run",
                "--vendor",
                vendor,
                "--base-url",
                served.url,
                "--key",
                keys["key"],
                "--slow",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        served.stop()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "FAIL" not in ran.stdout and " steps as documented" in ran.stdout

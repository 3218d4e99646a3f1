"""Start-up does only what answering needs: moto, botocore and jsonschema load on first use."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from upload_emulator.app import create_app, emulator_of
from upload_emulator.core.settings import Settings
app = create_app(Settings())
print("moto" in sys.modules, "botocore" in sys.modules)
client = app.test_client()
auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
minted = client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).get_json()["data"]
print("moto" in sys.modules, "botocore" in sys.modules)
url = minted["uploadUrl"].split("localhost", 1)[1]
put = client.put(url, data=b"hello", headers={"Content-Type": "text/plain"})
stored = emulator_of(app).storage.list(emulator_of(app).bucket_for("scripe"))
print(put.status_code, [obj.size for obj in stored], "moto" in sys.modules, "botocore" in sys.modules)
"""


def test_an_app_starts_and_mints_without_moto_or_botocore_and_loads_them_for_the_first_upload():
    found = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert found.stdout.split("\n")[:3] == ["False False", "False False", "200 [5] True True"]


JSONSCHEMA_PROBE = """
import sys
from upload_emulator.app import create_app
from upload_emulator.core.settings import Settings
client = create_app(Settings()).test_client()
auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
print(client.get("/_emulator/health").status_code, "jsonschema" in sys.modules)
print(client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).status_code,
      "jsonschema" in sys.modules)
refused = client.post("/scripe/v1/uploads", json={"contentType": "text/plain", "maxSizeBytes": 0}, headers=auth)
print(refused.status_code, refused.get_json()["error"]["message"], "jsonschema" in sys.modules)
"""


def test_valid_requests_are_answered_without_jsonschema_and_the_first_refusal_loads_it_for_its_wording():
    found = subprocess.run(
        [sys.executable, "-c", JSONSCHEMA_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.split("\n")[:3] == [
        "200 False",
        "200 False",
        "422 maxSizeBytes: 0 is less than the minimum of 1 True",
    ]


def test_what_serve_loads_in_the_background_is_then_frozen_out_of_the_garbage_collectors_view():
    code = (
        "import gc\n"
        "from upload_emulator.app import create_app, emulator_of\n"
        "from upload_emulator.cli import _load_the_rest\n"
        "emu = emulator_of(create_app())\n"
        "assert gc.get_freeze_count() == 0\n"
        "_load_the_rest(emu)\n"
        "import sys\n"
        "assert 'moto' in sys.modules and 'botocore' in sys.modules and 'jsonschema' in sys.modules\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "emu.close()\n"
    )
    _in_a_fresh_interpreter(code)


def test_the_background_load_waits_for_a_quiet_moment_so_a_busy_start_is_not_slowed():
    # The loader's waits are the test's to give: each of the first five finds a request answered
    # meanwhile (not quiet), the sixth finds none. Nothing here depends on how fast the machine is.
    code = (
        "import sys\n"
        "from upload_emulator.app import create_app, emulator_of\n"
        "from upload_emulator.cli import _load_the_rest\n"
        "app = create_app()\n"
        "emu = emulator_of(app)\n"
        "client = app.test_client()\n"
        "waits = []\n"
        "def wait(seconds):\n"
        "    waits.append(seconds)\n"
        "    assert 'moto' not in sys.modules, 'loaded while requests kept coming'\n"
        "    if len(waits) <= 5:\n"
        "        assert client.post('/scripe/v1/uploads').status_code == 401\n"
        "_load_the_rest(emu, 0.1, wait=wait)\n"
        "assert len(waits) == 6 and 'moto' in sys.modules\n"
        "emu.close()\n"
    )
    _in_a_fresh_interpreter(code)


def test_what_serve_made_at_start_up_is_frozen_before_it_answers_anything():
    code = (
        "import gc\n"
        "from upload_emulator import cli\n"
        "from upload_emulator.serving import server\n"
        "seen = []\n"
        "def serving(self):\n"
        "    seen.append(gc.get_freeze_count())\n"
        "    raise KeyboardInterrupt\n"
        "server._Server.serve = serving\n"
        "assert cli.main(['serve', '--port', '0', '--log-level', 'WARNING']) == 0\n"
        "assert seen and seen[0] > 10_000, seen\n"
    )
    _in_a_fresh_interpreter(code)


def _in_a_fresh_interpreter(code: str) -> None:
    """Run `code` where nothing is imported yet (what is loaded when is the point); it asserts."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]


YAML_PROBE = """
import sys
from upload_emulator.app import create_app
from upload_emulator.core.settings import Settings
client = create_app(Settings()).test_client()
print(client.get("/_emulator/health").status_code, "yaml" in sys.modules)
"""


def test_a_start_after_the_first_reads_the_cached_specs_and_never_imports_pyyaml(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", YAML_PROBE], capture_output=True, text=True, timeout=60, env=env)
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["200 True", "200 False"], runs[-1].stderr[-2000:]

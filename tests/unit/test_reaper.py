"""The reaper frees what a reset let go of, on its own thread and a batch at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from upload_emulator.services.reclaim import Reaper, empty


def test_queued_work_runs_and_garbage_is_emptied_on_the_reapers_thread():
    reaper = Reaper()
    ran_on: list[int] = []
    records = {n: object() for n in range(1000)}
    seen = {n for n in range(700)}
    reaper.later(lambda: ran_on.append(threading.get_ident()), records, seen)
    reaper.close()  # waits for what is queued
    assert ran_on and ran_on[0] != threading.get_ident()
    assert records == {} and seen == set()
    assert not reaper.busy  # the thread ends when nothing is left


def test_a_reaper_that_was_never_used_starts_no_thread_and_closes_at_once():
    before = threading.active_count()
    reaper = Reaper()
    reaper.close()
    assert threading.active_count() == before and not reaper.busy


def test_empty_takes_dicts_and_sets_apart_and_leaves_anything_else():
    items, names, frozen = {"a": 1, "b": 2}, {"x"}, (1, 2)
    for container in (items, names, frozen):
        empty(container)
    assert items == {} and names == set() and frozen == (1, 2)


EXITS_RIGHT_AFTER_A_RESET = """
from upload_emulator.app import create_app, emulator_of
from upload_emulator.core.settings import Settings
app = create_app(Settings())
client = app.test_client()
auth = {"Authorization": "Bearer scripe_sk_test_acme_full_access"}
minted = client.post("/scripe/v1/uploads", json={"contentType": "text/plain"}, headers=auth).get_json()["data"]
url = minted["uploadUrl"].split("localhost", 1)[1]
assert client.put(url, data=b"x" * (3 << 20), headers={"Content-Type": "text/plain"}).status_code == 200
assert client.post("/_emulator/reset").status_code == 204
"""  # and exits at once, the emulator never closed


def test_a_process_that_exits_right_after_a_reset_leaves_no_stored_bytes_on_disk(tmp_path):
    subprocess.run(
        [sys.executable, "-c", EXITS_RIGHT_AFTER_A_RESET],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        check=True,
        timeout=60,
    )
    assert list(tmp_path.iterdir()) == []

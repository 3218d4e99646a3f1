"""Stores keep their newest entries, so a server that runs for days without a reset stays bounded."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from support import Scripe, make_app

from upload_emulator.app import emulator_of
from upload_emulator.core.retention import Cap
from upload_emulator.services.records import ResourceStore, UploadRecord, UploadStore


def record(n: int) -> UploadRecord:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return UploadRecord(f"upl_{n}", "scripe", "ws", "audio/mpeg", 10, now, None, "b", f"k{n}")


def test_a_cap_forgets_the_oldest_first_keeps_pinned_entries_and_warns_once(caplog):
    cap = Cap("things", 3)
    entries = {n: n for n in range(6)}
    with caplog.at_level(logging.WARNING, logger="upload_emulator.retention"):
        assert cap.trim(entries, pinned={0}) == [1, 2]  # pinned entries do not count against the cap
        entries[9] = 9
        assert cap.trim(entries, pinned={0}) == [3]
    assert list(entries) == [0, 4, 5, 9] and cap.forgotten == 3
    assert len([r for r in caplog.records if "keeping the newest 3 things" in r.message]) == 1


def test_the_upload_store_forgets_the_oldest_uploads_and_hands_them_over_for_their_bytes():
    forgotten: list[str] = []
    store = UploadStore(retain=100, forget=lambda r: forgotten.append(r.id))
    for n in range(250):
        store.add(record(n))
    assert len(store.all()) == 100 and forgotten == [f"upl_{n}" for n in range(150)]
    assert store.get("upl_149") is None and store.for_object("b", "k149") is None
    assert store.get("upl_249") is not None and store.for_object("b", "k249") is not None


def test_the_resource_store_never_forgets_what_the_fixtures_made():
    store = ResourceStore(retain=10)
    store.put("scripe", "source", "ws", {"id": "src_fixture"}, pinned=True)
    for n in range(50):
        store.put("scripe", "source", "ws", {"id": f"src_{n}"})
    ids = [item["id"] for item in store.list("scripe", "source", "ws")]
    assert ids[0] == "src_fixture" and ids[1:] == [f"src_{n}" for n in range(40, 50)]


def test_an_emulator_forgets_old_uploads_with_their_bytes_and_old_created_keys_but_no_fixture_key():
    app = make_app(retain=20)
    emu = emulator_of(app)
    fixture_keys = {k.secret for k in emu.keys.all()}
    for _ in range(30):
        emu.keys.create_key("scripe", "org_acme", ["sources:write"])
    assert len(emu.keys.all()) == len(fixture_keys) + 20
    assert fixture_keys <= {k.secret for k in emu.keys.all()}
    scripe = Scripe(app.test_client(), emu)
    minted = [scripe.uploaded(b"bytes %d" % n) for n in range(25)]
    bucket = emu.bucket_for("scripe")
    assert len(emu.uploads.all()) == 20 and len(emu.storage.list(bucket)) == 20
    forgotten, never = scripe.redeem_source(minted[0]["id"]), scripe.redeem_source("upl_NEVERMINTED0000000000000000")
    assert (forgotten.status_code, forgotten.json["error"]["code"]) == (never.status_code, never.json["error"]["code"])
    assert scripe.redeem_source(minted[-1]["id"]).status_code == 202
    emu.close()

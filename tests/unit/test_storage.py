"""Streamed storage in moto: byte-identical round trips, nothing left by short bodies."""

import hashlib
import os
import secrets
import subprocess
import sys

import pytest
from support import multipart_etag

from upload_emulator.blobs.body import BodyTooShort, stage
from upload_emulator.blobs.storage import ObjectStorage


@pytest.fixture
def storage():
    store = ObjectStorage("us-east-1", secrets.token_hex(4))
    store.ensure_bucket("bkt-" + secrets.token_hex(4))
    yield store
    store.close()


def bucket(storage):
    return storage.bucket_names()[0]


def test_a_streamed_object_reads_back_byte_identical_with_md5_etag_and_sha256(storage):
    chunks = [os.urandom(700_000) for _ in range(5)]
    whole = b"".join(chunks)
    stored = storage.put_stream(bucket(storage), "k/1", iter(chunks), "video/mp4", len(whole))
    assert stored.sha256 == hashlib.sha256(whole).hexdigest()
    assert stored.etag == f'"{hashlib.md5(whole).hexdigest()}"'
    assert b"".join(storage.iter_content(bucket(storage), "k/1", chunk_bytes=333_333)) == whole
    assert storage.head(bucket(storage), "k/1").content_type == "video/mp4"


def test_a_short_body_stores_nothing_and_keeps_the_previous_object(storage):
    storage.put_stream(bucket(storage), "k", iter([b"old"]), "text/plain", 3)
    with pytest.raises(BodyTooShort):
        storage.put_stream(bucket(storage), "k", iter([b"new-but-sh"]), "text/plain", 100)
    assert b"".join(storage.iter_content(bucket(storage), "k")) == b"old"


def test_a_failing_stream_stores_nothing(storage):
    def broken():
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        storage.put_stream(bucket(storage), "k2", broken(), "text/plain", 100)
    assert storage.head(bucket(storage), "k2") is None


def test_reset_empties_the_buckets_and_two_storages_do_not_share_objects(storage):
    other = ObjectStorage("us-east-1", secrets.token_hex(4))
    other.ensure_bucket("bkt-" + secrets.token_hex(4))
    storage.put_stream(bucket(storage), "k", iter([b"x"]), "text/plain", 1)
    assert other.list(bucket(other)) == [] and bucket(other) != bucket(storage)
    storage.reset()
    assert storage.list(bucket(storage)) == []
    other.close()


def test_bytes_are_not_stored_for_an_upload_that_was_used_meanwhile():
    from datetime import UTC, datetime

    from upload_emulator.services.records import REDEEMED, UploadRecord, UploadStore

    now = datetime(2026, 1, 1, tzinfo=UTC)
    store = UploadStore()
    record = store.add(UploadRecord("upl_1", "v", "ws", "text/plain", 10, now, None, "b", "k"))
    record.state = REDEEMED
    called = []
    assert store.accept_bytes(record, lambda: called.append(1), now) is None
    assert called == []


def test_an_assembly_takes_ranges_in_order_and_a_cut_range_leaves_it_as_it_was():
    from upload_emulator.blobs.body import Assembly, BodyTooShort

    data = bytes(range(256)) * 1000
    assembly = Assembly()
    assembly.append(iter([data[:1000], data[1000:3000]]), 3000)
    with pytest.raises(BodyTooShort):
        assembly.append(iter([data[3000:4000]]), 5000)  # the client went away mid-range
    assert assembly.size == 3000
    assembly.append(iter([data[2000:3000], data[3000:]]), len(data) - 2000, skip=1000)  # a resend overlapping
    staged = assembly.staged()
    staged.spool.seek(0)
    assert staged.spool.read() == data and staged.size == len(data)
    assert staged.sha256_hex == hashlib.sha256(data).hexdigest()
    assert staged.etag == multipart_etag(data[:3000], data[3000:])  # the parts as counted: the resend's new bytes
    assembly.discard()


def test_an_assembly_of_one_range_has_a_one_part_etag_and_ranges_that_add_nothing_are_no_part():
    from upload_emulator.blobs.body import Assembly

    assembly = Assembly()
    assembly.append(iter([b"whole"]), 5)
    assembly.append(iter([b"whole"]), 5, skip=5)  # a resend of what is held: counted as nothing
    staged = assembly.staged()
    assert staged.etag == multipart_etag(b"whole") and staged.etag.endswith("-1")
    staged.discard()


def test_stored_objects_hold_no_open_file_so_a_long_run_cannot_run_out_of_descriptors():
    import psutil

    from upload_emulator.blobs.storage import ObjectStorage

    storage = ObjectStorage("us-east-1", secrets.token_hex(4))
    storage.ensure_bucket("fds")
    process = psutil.Process()
    before = process.num_fds()
    body = os.urandom(2 * 1024 * 1024 + 1)  # past the in-memory spool: these live on disk
    for n in range(60):
        storage.commit("fds", f"k{n}", stage(iter([body]), len(body)), "application/octet-stream")
    assert process.num_fds() - before < 5
    assert b"".join(storage.iter_content("fds", "k59")) == body
    assert b"".join(storage.iter_content("fds", "k3", start=5, end=9)) == body[5:10]
    paths = [storage._find("fds", f"k{n}")._value_buffer.path for n in range(60)]
    storage.close()
    assert not any(os.path.exists(p) for p in paths)  # deleting an object gives its disk back


def test_deleted_and_reset_objects_are_freed_not_kept_by_moto():
    import gc
    import weakref

    from moto.s3.models import FakeKey

    from upload_emulator.blobs.storage import ObjectStorage

    storage = ObjectStorage("us-east-1", secrets.token_hex(4))
    storage.ensure_bucket("mem")
    before = len(FakeKey.instances_tracked)
    for n in range(20):
        storage.commit("mem", f"k{n}", stage(iter([b"x" * 100]), 100), "text/plain")
    refs = [weakref.ref(storage._find("mem", f"k{n}")) for n in range(20)]
    assert len(FakeKey.instances_tracked) == before  # moto's class-wide list does not grow
    storage.delete("mem", "k0")
    storage.reset()
    gc.collect()
    assert all(ref() is None for ref in refs)
    storage.close()


def test_no_model_moto_makes_for_a_stored_object_stays_on_its_class_wide_lists():
    from moto.core.common_models import BaseModel

    def tracked() -> dict[str, int]:
        found, todo = {}, [BaseModel]
        while todo:
            cls = todo.pop()
            todo += cls.__subclasses__()
            if "instances_tracked" in vars(cls):
                found[cls.__name__] = len(cls.instances_tracked)
        return found

    storage = ObjectStorage("us-east-1", secrets.token_hex(4))
    storage.ensure_bucket("lists")
    storage.commit("lists", "warm", stage(iter([b"x"]), 1), "text/plain")
    before = tracked()
    for n in range(50):
        storage.commit("lists", f"k{n}", stage(iter([b"x" * 100]), 100), "text/plain")
        storage.commit("lists", f"k{n}", stage(iter([b"y" * 100]), 100), "text/plain")  # an overwrite
        storage.delete("lists", f"k{n}")
    after = tracked()
    assert {name: count for name, count in after.items() if count != before.get(name, 0)} == {}
    storage.close()


def test_an_abandoned_assembly_leaves_no_file_behind():
    import gc

    from upload_emulator.blobs.body import Assembly

    assembly = Assembly()
    assembly.append(iter([b"partial"]), 7)
    path = assembly._path
    assert os.path.exists(path)
    del assembly
    gc.collect()
    assert not os.path.exists(path)


def test_a_reset_empties_every_bucket_at_once_and_hands_the_freeing_to_later(storage):
    name = bucket(storage)
    for n in range(300):
        storage.put_stream(name, f"k{n}", iter([b"bytes"]), "text/plain", 5)
    buffers = [storage._find(name, f"k{n}")._value_buffer for n in range(300)]
    handed: list = []
    storage.reset(later=handed.append)
    assert storage.list(name) == [] and storage.head(name, "k1") is None
    assert not any(buffer.closed for buffer in buffers)  # nothing freed on the caller's time
    storage.put_stream(name, "k1", iter([b"new"]), "text/plain", 3)  # the emptied bucket takes writes
    (free,) = handed
    free()
    assert all(buffer.closed for buffer in buffers)
    assert b"".join(storage.iter_content(name, "k1")) == b"new"


KEPT_TO_THE_END = """
from upload_emulator.blobs.body import Assembly
from upload_emulator.blobs.storage import ObjectStorage
import secrets
half_done = Assembly()
half_done.append(iter([b"x" * 1000]), 1000)
storage = ObjectStorage("us-east-1", secrets.token_hex(4))
storage.ensure_bucket("kept")
storage.put_stream("kept", "big", iter([b"y" * (2 << 20)]), "text/plain", 2 << 20)
"""  # and exits with both alive: nothing closed, nothing collected


def test_temp_files_of_objects_still_alive_at_exit_are_removed(tmp_path):
    subprocess.run(
        [sys.executable, "-c", KEPT_TO_THE_END], env={**os.environ, "TMPDIR": str(tmp_path)}, check=True, timeout=60
    )
    assert list(tmp_path.iterdir()) == []


class _FailingFile:
    """A file whose second write finds the disk full."""

    def __init__(self, file) -> None:
        self._file, self._writes = file, 0

    def write(self, data) -> int:
        self._writes += 1
        if self._writes == 2:
            raise OSError(28, "No space left on device")
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def test_a_range_whose_write_fails_is_taken_back_and_the_upload_resumes_from_where_it_was(monkeypatch):
    import builtins

    import upload_emulator.blobs.body as body

    assembly = body.Assembly()
    assembly.append(iter([b"counted"]), 7)
    monkeypatch.setattr(body, "open", lambda *a, **k: _FailingFile(builtins.open(*a, **k)), raising=False)  # noqa: SIM115
    with pytest.raises(OSError, match="No space"):
        assembly.append(iter([b"ne", b"xt"]), 4)
    monkeypatch.undo()
    assert assembly.size == 7  # the failed range is not counted: the client resumes from byte 7
    assembly.append(iter([b"next"]), 4)
    staged = assembly.staged()
    staged.spool.seek(0)
    assert staged.spool.read() == b"countednext"
    assert staged.sha256_hex == hashlib.sha256(b"countednext").hexdigest()
    assert staged.etag == multipart_etag(b"counted", b"next")
    staged.discard()


class _Trickle:
    """A body stream that hands out at most `most` bytes a call, with readinto or without it."""

    def __init__(self, data: bytes, most: int, readinto: bool) -> None:
        self._data, self._at, self._most = data, 0, most
        if not readinto:
            self.readinto = None  # type: ignore[assignment]

    def read(self, size: int = -1) -> bytes:
        size = self._most if size < 0 else min(size, self._most)
        out = self._data[self._at : self._at + size]
        self._at += len(out)
        return out

    def readinto(self, buffer) -> int:
        out = self.read(len(buffer))
        buffer[: len(out)] = out
        return len(out)


@pytest.mark.parametrize("readinto", [True, False])
@pytest.mark.parametrize("extra", [-1, 0, 1, 12_345])
def test_a_body_read_in_pieces_arrives_whole_with_its_hashes(readinto, extra):
    from upload_emulator.blobs.body import PIECE_BYTES

    data = os.urandom(5 * PIECE_BYTES + extra)
    staged = stage(_Trickle(data, 300_001, readinto), len(data))
    staged.spool.seek(0)
    assert staged.spool.read() == data
    assert staged.etag == hashlib.md5(data).hexdigest() and staged.sha256_hex == hashlib.sha256(data).hexdigest()
    staged.discard()


def test_a_hash_that_lags_never_sees_its_piece_changed_by_the_next_read(monkeypatch):
    import time

    import upload_emulator.blobs.body as body

    seen: list[bytes] = []

    class SlowCopy:
        def update(self, view) -> None:
            time.sleep(0.001)
            seen.append(bytes(view))  # what the hash got, as it was when the hash came to it

        def hexdigest(self) -> str:
            return ""

    monkeypatch.setattr(body, "new_md5", SlowCopy)
    data = os.urandom(3 * body.QUEUED * body.PIECE_BYTES + 7)
    with pytest.raises(body.BodyTooShort):  # the MD5 is a fake, so the ETag is not checked: only the pieces
        body.stage(_Trickle(data, 1 << 20, True), len(data) + 1)
    assert b"".join(seen) == data


def test_an_assembly_range_read_from_a_stream_drops_the_bytes_it_already_holds():
    from upload_emulator.blobs.body import PIECE_BYTES, Assembly

    data = os.urandom(3 * PIECE_BYTES + 10)
    assembly = Assembly()
    assembly.append(_Trickle(data[: 2 * PIECE_BYTES + 5], 1 << 20, True), 2 * PIECE_BYTES + 5)
    resent = data[PIECE_BYTES:]  # a client resending from an earlier byte: the held part is dropped
    assembly.append(_Trickle(resent, 1 << 20, True), len(resent), skip=PIECE_BYTES + 5)
    staged = assembly.staged()
    staged.spool.seek(0)
    assert staged.spool.read() == data and staged.sha256_hex == hashlib.sha256(data).hexdigest()
    assert staged.etag == multipart_etag(data[: 2 * PIECE_BYTES + 5], data[2 * PIECE_BYTES + 5 :])
    staged.discard()


def test_an_upload_is_found_only_by_its_own_vendor_and_its_own_workspace():
    from datetime import UTC, datetime

    from upload_emulator.services.records import UploadRecord, UploadStore

    now = datetime(2026, 1, 1, tzinfo=UTC)
    store = UploadStore()
    store.add(UploadRecord("upl_1", "scripe", "ws", "text/plain", 10, now, None, "b", "k"))
    assert store.get("upl_1", "ws", "scripe") is not None
    assert store.get("upl_1", "ws", "streamloop") is None  # another vendor's handler never sees it
    assert store.get("upl_1", "other", "scripe") is None

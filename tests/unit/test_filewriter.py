"""A FileWriter leaves exactly the bytes written, by direct I/O or through the page cache alike."""

from __future__ import annotations

import os
import random

import psutil
import pytest

from upload_emulator import filewriter
from upload_emulator.filewriter import ALIGN, BUFFER_BYTES, FileWriter


@pytest.fixture(autouse=True)
def direct_io_as_the_process_found_it():
    usable = filewriter._direct_usable
    yield
    filewriter._direct_usable = usable


def _pieces(data: bytes, seed: int) -> list[bytes]:
    rng, out, at = random.Random(seed), [], 0
    while at < len(data):
        size = rng.choice([1, 7, ALIGN - 1, ALIGN, ALIGN + 1, 65_536, BUFFER_BYTES - 3, BUFFER_BYTES + 5])
        out.append(data[at : at + size])
        at += size
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _supports_direct(directory) -> bool:
    probe = os.path.join(directory, "probe")
    open(probe, "wb").close()
    try:
        os.close(os.open(probe, os.O_RDWR | os.O_DIRECT))
        return True
    except (OSError, AttributeError):
        return False
    finally:
        os.unlink(probe)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("start", [0, 1, ALIGN - 1, ALIGN, 3 * ALIGN + 17])
def test_bytes_appended_from_any_offset_in_any_pieces_are_the_file_afterwards(tmp_path, seed, start):
    path = str(tmp_path / "body")
    before = os.urandom(start + 5000)  # what lies past `start` goes: the file ends at the last byte written
    with open(path, "wb") as file:
        file.write(before)
    data = os.urandom(2 * BUFFER_BYTES + 12_345)
    writer = FileWriter(path, start)
    assert writer.direct == _supports_direct(tmp_path)
    for piece in _pieces(data, seed):
        writer.write(piece)
    writer.finish()
    with open(path, "rb") as file:
        assert file.read() == before[:start] + data


def test_where_direct_io_is_refused_at_open_the_page_cache_takes_the_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(filewriter, "_open_direct", lambda path: None)
    path = str(tmp_path / "body")
    open(path, "wb").close()
    data = os.urandom(BUFFER_BYTES + 999)
    writer = FileWriter(path)
    assert not writer.direct
    writer.write(data)
    writer.finish()
    assert _read(path) == data


def test_a_direct_write_refused_midway_goes_on_through_the_page_cache_with_nothing_lost(tmp_path, monkeypatch):
    if not _supports_direct(tmp_path):
        pytest.skip("this file system takes no direct I/O: the page-cache path is tested above")
    path = str(tmp_path / "body")
    open(path, "wb").close()
    real, calls = os.pwrite, []

    def refuses_the_second(fd, data, offset):
        calls.append(offset)
        if len(calls) == 2:
            raise OSError(22, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(filewriter.os, "pwrite", refuses_the_second)
    data = os.urandom(3 * BUFFER_BYTES + 77)
    writer = FileWriter(path)
    for piece in _pieces(data, 1):
        writer.write(piece)
    assert not writer.direct
    writer.finish()
    assert _read(path) == data


def test_a_disk_too_slow_for_direct_io_sends_this_and_every_later_file_through_the_page_cache(tmp_path, monkeypatch):
    if not _supports_direct(tmp_path):
        pytest.skip("this file system takes no direct I/O: the page-cache path is tested above")
    monkeypatch.setattr(filewriter, "SLOW_DIRECT_RATE", 1e15)  # any real disk is slower than this
    monkeypatch.setattr(filewriter, "MEASURED_BYTES", 2 * BUFFER_BYTES)
    path = str(tmp_path / "body")
    open(path, "wb").close()
    data = os.urandom(5 * BUFFER_BYTES + 1)
    writer = FileWriter(path)
    assert writer.direct
    writer.write(data)
    assert not writer.direct and not filewriter._direct_usable
    writer.finish()
    assert _read(path) == data
    later = str(tmp_path / "later")
    open(later, "wb").close()
    assert not FileWriter(later).direct


def test_a_writer_closed_without_finishing_holds_no_descriptor_or_buffer(tmp_path):
    process = psutil.Process()
    path = str(tmp_path / "body")
    open(path, "wb").close()
    before = process.num_fds()
    writers = [FileWriter(path) for _ in range(20)]
    for writer in writers:
        writer.write(b"x" * (ALIGN + 1))
        writer.close()
    assert process.num_fds() == before


def test_only_memory_that_starts_on_a_block_boundary_is_written_without_a_copy():
    import mmap

    from upload_emulator.filewriter import _aligned

    buffer = mmap.mmap(-1, 4 * ALIGN)
    with memoryview(buffer) as view:
        assert _aligned(view) and not _aligned(view[1:]) and _aligned(view[ALIGN:])
    assert not _aligned(memoryview(os.urandom(2 * ALIGN)))  # read-only bytes: copied
    buffer.close()


def test_an_aligned_piece_goes_to_disk_in_one_direct_write(tmp_path, monkeypatch):
    import mmap

    if not _supports_direct(tmp_path):
        pytest.skip("this file system takes no direct I/O: the page-cache path is tested above")
    path = str(tmp_path / "body")
    open(path, "wb").close()
    writes: list[int] = []
    real = os.pwrite
    monkeypatch.setattr(filewriter.os, "pwrite", lambda fd, data, at: writes.append(len(data)) or real(fd, data, at))
    piece = mmap.mmap(-1, 1 << 20)
    piece.write(os.urandom(1 << 20))
    writer = FileWriter(path)
    with memoryview(piece) as view:
        writer.write(view[: (1 << 20) - 5])  # all but the last, unfinished block goes out at once
    assert writes == [(1 << 20) - ALIGN]
    writer.finish()
    assert _read(path) == piece[: (1 << 20) - 5]
    piece.close()

"""Specs and fixtures read from a JSON copy in the user's cache: the same documents, never stale."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from upload_emulator.core import datafiles


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "upload-emulator" / "data"


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> Path:
    """A stand-in for the shipped specs/ directory, so a test may edit a "shipped" file."""
    specs = tmp_path / "ship" / "specs"
    specs.mkdir(parents=True)
    monkeypatch.setattr(datafiles, "data_dir", lambda kind: tmp_path / "ship" / kind)
    return specs


def shipped_files() -> list[Path]:
    return sorted(datafiles.data_dir("specs").glob("*.yaml")) + sorted(datafiles.data_dir("fixtures").glob("*.yaml"))


def test_every_shipped_file_read_from_its_cached_copy_is_the_document_yaml_gives(cache):
    for path in shipped_files():
        parsed = datafiles.parse_yaml(path.read_bytes())
        assert datafiles.load_yaml(path) == parsed  # the first read parses and keeps a copy
        assert datafiles.load_yaml(path) == parsed  # the second reads the copy
    assert len(list(cache.glob("*.json"))) == len(shipped_files())


def test_an_edited_file_is_parsed_again_and_its_older_copy_dropped(cache, shipped):
    spec = shipped / "made_up.yaml"
    spec.write_text("info: {title: first}\n")
    assert datafiles.load_yaml(spec) == {"info": {"title": "first"}}
    spec.write_text("info: {title: second}\n")
    assert datafiles.load_yaml(spec) == {"info": {"title": "second"}}
    assert datafiles.load_yaml(spec) == {"info": {"title": "second"}}
    assert len(list(cache.glob("specs-made_up-*.json"))) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("released: 2026-12-02\n", {"released": datetime.date(2026, 12, 2)}),  # JSON has no dates
        ("responses: {200: ok}\n", {"responses": {200: "ok"}}),  # JSON would make the key "200"
    ],
)
def test_a_document_json_would_change_is_parsed_from_yaml_every_time(cache, shipped, text, expected):
    spec = shipped / "unlike_json.yaml"
    spec.write_text(text)
    assert datafiles.load_yaml(spec) == expected
    assert datafiles.load_yaml(spec) == expected
    assert list(cache.glob("*.json")) == []


def test_a_damaged_copy_is_ignored_and_written_again(cache, shipped):
    spec = shipped / "made_up.yaml"
    spec.write_text("a: [1, 2]\n")
    datafiles.load_yaml(spec)
    (copy,) = cache.glob("specs-made_up-*.json")
    copy.write_text('{"a": [1, ')  # cut short, as a full disk or a killed writer might leave it
    assert datafiles.load_yaml(spec) == {"a": [1, 2]}
    assert copy.read_text() == '{"a": [1, 2]}'


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path, monkeypatch, shipped):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    spec = shipped / "made_up.yaml"
    spec.write_text("a: 1\n")
    assert datafiles.load_yaml(spec) == {"a": 1}
    assert datafiles.load_yaml(spec) == {"a": 1}


def test_a_users_own_fixtures_are_never_cached(cache, tmp_path):
    own = tmp_path / "mine" / "scripe.yaml"
    own.parent.mkdir()
    own.write_text("profile: {name: scripe}\n")
    assert datafiles.load_yaml(own) == {"profile": {"name": "scripe"}}
    assert not cache.exists()


def test_text_that_is_not_yaml_is_a_value_error_naming_the_problem():
    with pytest.raises(ValueError, match="flow sequence"):
        datafiles.parse_yaml("a: [1, 2\nb: {")

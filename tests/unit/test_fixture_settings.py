"""A fixture setting that breaks its schema stops start-up with one line: where it came from, the key,
the value, what is allowed. Never a traceback, and `config` says the same as `serve`."""

from __future__ import annotations

import pytest
from support import fixtures_dir_with

from upload_emulator import cli

BAD = [
    ("scripe.uploads.caps=wider", "scripe.uploads.caps = 'wider'", "guide or reference"),
    ("scripe.uploads.content_types=3", "scripe.uploads.content_types = 3", "tables named guide and reference"),
    ("scripe.jobs.queued_s=abc", "scripe.jobs.queued_s = 'abc'", "seconds on the emulator's clock"),
    ("scripe.uploads.ttl_s=-5", "scripe.uploads.ttl_s = -5", "1 to 604800"),
    ("scripe.rate_limit.limit=abc", "scripe.rate_limit.limit = 'abc'", "a whole number ≥ 1, or null"),
    ("ctxfy.sources.final_s=[1]", "ctxfy.sources.final_s = [1]", "seconds"),
    ("streamloop.uploads.plan_caps.FREE=0", "streamloop.uploads.plan_caps.FREE = 0", "≥ 1"),
    ("adclear.uploads.max_chunk_size=big", "adclear.uploads.max_chunk_size = 'big'", "bytes"),
]


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("command", ["config", "serve"])
@pytest.mark.parametrize(("override", "shown", "allowed"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_set_value_stops_start_up_with_one_line_naming_it(capsys, command, override, shown, allowed):
    code, err = run(capsys, command, "--port", "0", "--set", override)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("upload-emulator: --set: ") and shown in line and allowed in line
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["config", "serve"])
def test_a_bad_value_from_the_environment_or_a_config_file_names_that_source(capsys, monkeypatch, tmp_path, command):
    monkeypatch.setenv("UPLOAD_EMULATOR_SET", "scripe.jobs.queued_s=abc")
    code, err = run(capsys, command, "--port", "0")
    assert code == 2 and err.startswith("upload-emulator: env UPLOAD_EMULATOR_SET: scripe.jobs.queued_s = 'abc'")
    monkeypatch.delenv("UPLOAD_EMULATOR_SET")
    config = tmp_path / "emulator.toml"
    config.write_text('set = ["scripe.uploads.ttl_s=-5"]\n')
    code, err = run(capsys, command, "--port", "0", "--config", str(config))
    assert code == 2 and err.startswith(f"upload-emulator: config {config}: scripe.uploads.ttl_s = -5")


@pytest.mark.parametrize("command", ["config", "serve"])
def test_a_bad_value_in_a_fixtures_directory_names_the_file(capsys, tmp_path, command):
    def bad(data):
        data["profile"]["settings"]["jobs"]["queued_s"] = "abc"

    directory = fixtures_dir_with(tmp_path, "scripe", bad)
    code, err = run(capsys, command, "--port", "0", "--fixtures", str(directory))
    assert code == 2
    assert err.strip() == (
        f"upload-emulator: fixtures {directory / 'scripe.yaml'}: scripe.jobs.queued_s = 'abc' is not allowed: "
        "seconds on the emulator's clock, ≥ 0"
    )


def test_a_misspelt_section_lists_the_sections_there_are(capsys):
    code, err = run(capsys, "config", "--set", "scripe.upload.ttl_s=5")
    assert code == 2 and "no settings section 'upload'; sections here: uploads, jobs" in err


def test_good_values_pass_and_config_shows_them(capsys):
    code = cli.main(["config", "--set", "scripe.jobs.queued_s=10", "--set", "scripe.uploads.caps=reference"])
    assert code == 0 and "scripe.jobs.queued_s=10" in capsys.readouterr().out


def test_every_shipped_fixture_keeps_to_its_specs_settings_schema():
    from support import make_app

    from upload_emulator.app import emulator_of

    emulator_of(make_app()).close()  # every installed vendor's world loaded, and checked


def test_every_installed_vendors_spec_states_the_schema_of_its_settings():
    from upload_emulator.core.datafiles import load_yaml
    from upload_emulator.core.fixture_settings import SPEC_KEY
    from upload_emulator.vendors import installed, spec_file

    for vendor in installed():
        schema = load_yaml(spec_file(vendor)).get(SPEC_KEY)
        assert isinstance(schema, dict) and schema.get("additionalProperties") is False, vendor

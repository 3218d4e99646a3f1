"""The command line a newcomer expects: help, version, keys, specs, clear failures."""

from __future__ import annotations

import json
import logging
import socket

import pytest

from upload_emulator import cli
from upload_emulator.core import logs
from upload_emulator.core.version import __version__


@pytest.fixture(autouse=True)
def root_logger_kept():
    """`serve` points the root logger at the stderr of its moment (here, a capture that closes with
    the test); later tests' server threads would write to it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_version_prints_the_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"upload-emulator {__version__}"


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in ("serve", "keys", "specs"))


def test_serve_help_lists_every_flag(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--host",
        "--port",
        "--vendors",
        "--vendor",
        "--fixtures",
        "--strict",
        "--log-level",
        "--log-format",
        "--journal-size",
    ):
        assert flag in out


def test_keys_prints_each_fixture_key_and_what_it_is_for(capsys):
    assert cli.main(["keys"]) == 0
    out = capsys.readouterr().out
    assert "scripe_sk_test_acme_full_access" in out
    assert "key_revoked" in out


def test_specs_validates_every_spec_and_lists_operations(capsys):
    assert cli.main(["specs"]) == 0
    out = capsys.readouterr().out
    assert "scripe.yaml: valid" in out and "emulator.yaml: valid" in out
    assert "createUpload" in out


def test_specs_fails_on_an_invalid_spec(capsys, monkeypatch, tmp_path):
    broken = tmp_path / "scripe.yaml"
    broken.write_text("openapi: 3.1.0\npaths: {}\n")
    monkeypatch.setattr("upload_emulator.core.datafiles.spec_path", lambda name: broken)
    assert cli.main(["specs"]) == 1
    assert "INVALID" in capsys.readouterr().err


def test_serve_on_a_busy_port_says_so_and_exits_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port)]) == 2
    assert "already in use" in capsys.readouterr().err


def test_serve_with_a_missing_fixtures_dir_exits_2(capsys, tmp_path):
    assert cli.main(["serve", "--port", "0", "--fixtures", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_serve_with_an_unknown_vendor_exits_2(capsys):
    assert cli.main(["serve", "--vendor", "nobody"]) == 2
    assert "unknown vendor" in capsys.readouterr().err


def test_the_banner_names_the_vendor_url_s3_endpoint_and_keys():
    from upload_emulator.app import create_app, emulator_of
    from upload_emulator.core.settings import Settings

    settings = Settings()
    app = create_app(settings)
    text = cli.banner(app, settings, 8080)
    assert "http://127.0.0.1:8080/scripe/v1" in text
    assert "http://127.0.0.1:8080/s3" in text and settings.s3_access_key in text
    assert "scripe_sk_test_acme_full_access" in text
    emulator_of(app).close()


def test_json_logs_carry_the_request_fields_and_no_key(client, caplog):
    caplog.set_level(logging.INFO, logger="upload_emulator.requests")
    client.post(
        "/scripe/v1/uploads",
        json={"contentType": "audio/mpeg"},
        headers={"Authorization": "Bearer scripe_sk_test_acme_full_access"},
    )
    record = next(r for r in caplog.records if getattr(r, "operationId", None) == "createUpload")
    line = json.loads(logs.JsonFormatter().format(record))
    assert (line["vendor"], line["operationId"], line["status"]) == ("scripe", "createUpload", 200)
    assert line["requestId"].startswith("req_") and line["durationMs"] >= 0
    assert "scripe_sk_test_acme_full_access" not in caplog.text


def test_the_configuration_page_lists_every_setting_with_its_variable_and_key():
    from docs_blocks import ROOT

    from upload_emulator.core.settings import OPTIONS

    page = (ROOT / "docs" / "configuration.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `--")]
    for option in OPTIONS:
        [row] = [r for r in rows if r.startswith((f"| `{option.flag}`", f"| `{option.flag} "))]
        assert f"`{option.env}`" in row and f"`{option.key}`" in row, row

"""One settings source: flags > UPLOAD_EMULATOR_* > config file > defaults, with errors that say where."""

from __future__ import annotations

import pytest

from upload_emulator import cli
from upload_emulator.core.settings import OPTIONS, Settings, SettingsError, resolve


def test_each_setting_comes_from_the_flag_then_the_environment_then_the_config_file(tmp_path):
    config = tmp_path / "emulator.toml"
    config.write_text('port = 9100\nhost = "127.0.0.2"\nlog-level = "debug"\nvendors = ["scripe", "ctxfy"]\n')
    env = {"UPLOAD_EMULATOR_HOST": "127.0.0.3", "UPLOAD_EMULATOR_CONFIG": str(config)}
    settings, sources = resolve({"port": "9200"}, env)
    assert (settings.port, settings.host, settings.log_level, settings.vendors) == (
        9200,
        "127.0.0.3",
        "DEBUG",
        ("scripe", "ctxfy"),
    )
    assert sources["port"] == "flag --port"
    assert sources["host"] == "env UPLOAD_EMULATOR_HOST"
    assert sources["log_level"] == f"config {config}"
    assert sources["journal_size"] == "default"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"UPLOAD_EMULATOR_PORT": "eighty"}, "UPLOAD_EMULATOR_PORT='eighty': must be a whole number"),
        ({"UPLOAD_EMULATOR_PORT": "70000"}, "UPLOAD_EMULATOR_PORT='70000': must be between 0 and 65535"),
        ({"UPLOAD_EMULATOR_STRICT": "maybe"}, "UPLOAD_EMULATOR_STRICT='maybe': must be true or false"),
        ({"UPLOAD_EMULATOR_LOG_FORMAT": "xml"}, "UPLOAD_EMULATOR_LOG_FORMAT='xml': must be one of text, json"),
        ({"UPLOAD_EMULATOR_JOURNAL_SIZE": "0"}, "UPLOAD_EMULATOR_JOURNAL_SIZE='0'"),
    ],
)
def test_a_bad_environment_value_names_the_variable(env, named):
    with pytest.raises(SettingsError) as refused:
        resolve({}, env)
    assert named in str(refused.value)


def test_a_bad_config_file_names_the_file_and_the_key(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match=r"c.toml: unknown setting 'prot'"):
        resolve({}, {}, config)
    config.write_text('port = "x"\n')
    with pytest.raises(SettingsError, match=r"c.toml: port='x': must be a whole number"):
        resolve({}, {}, config)
    config.write_text("port = [\n")
    with pytest.raises(SettingsError, match=r"c\.toml"):
        resolve({}, {}, config)


def test_serve_help_names_every_environment_variable_and_the_config_file(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for option in OPTIONS:
        assert option.flag in out and option.env in out
    assert "--config" in out and "UPLOAD_EMULATOR_CONFIG" in out


def test_the_config_command_prints_each_value_and_where_it_came_from(capsys, monkeypatch, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("journal_size = 50\n")
    monkeypatch.setenv("UPLOAD_EMULATOR_LOG_FORMAT", "json")
    assert cli.main(["config", "--config", str(config), "--port", "9300"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["port"].split()[1:] == ["9300", "flag", "--port"]
    assert lines["log_format"].split()[1:] == ["json", "env", "UPLOAD_EMULATOR_LOG_FORMAT"]
    assert lines["journal_size"].split()[1:] == ["50", "config", str(config)]
    assert lines["host"].split()[1:] == ["127.0.0.1", "default"]


def test_serve_with_a_bad_variable_exits_2_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("UPLOAD_EMULATOR_PORT", "abc")
    assert cli.main(["serve"]) == 2
    assert "UPLOAD_EMULATOR_PORT='abc'" in capsys.readouterr().err


def test_bucket_names_can_be_fixed_so_scripts_need_not_look_them_up():
    assert Settings(bucket_suffix="").bucket_name("scripe-uploads") == "scripe-uploads"
    assert Settings(bucket_suffix="ci").bucket_name("scripe-uploads") == "scripe-uploads-ci"
    assert Settings(instance_id="ab12cd34").bucket_name("scripe-uploads") == "scripe-uploads-ab12cd34"
    settings, _ = resolve({"bucket_suffix": ""}, {})
    assert settings.bucket_name("x") == "x"


def test_the_banner_fits_80_columns_and_ends_with_how_to_stop():
    from upload_emulator.app import create_app, emulator_of

    settings = Settings(bucket_suffix="")
    app = create_app(settings)
    text = cli.banner(app, settings, 8080)
    emulator_of(app).close()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.splitlines()[-1] == "Ctrl-C to stop"
    assert "curl -s -X POST http://127.0.0.1:8080/scripe/v1/uploads" in text
    assert "scripe      scripe-uploads" in text


def test_the_banner_warns_on_a_non_loopback_bind():
    from upload_emulator.app import create_app, emulator_of

    settings = Settings(host="0.0.0.0")
    app = create_app(settings)
    text = cli.banner(app, settings, 8080)
    emulator_of(app).close()
    assert "WARNING: bound to 0.0.0.0" in text

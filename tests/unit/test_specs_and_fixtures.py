"""The specs are valid OpenAPI, the fixtures load, and code and spec cannot drift apart."""

import pytest
from openapi_spec_validator import validate

from upload_emulator.app import SpecMismatch, _mount, create_app, emulator_of
from upload_emulator.core.datafiles import data_dir
from upload_emulator.core.profiles import load_world
from upload_emulator.core.settings import Settings, resolve
from upload_emulator.openapi.spec import Spec
from upload_emulator.services.auth import redact
from upload_emulator.services.emulator import Vendor
from upload_emulator.vendors import declared_dialects

SPECS = sorted(data_dir("specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_is_valid_openapi(path):
    validate(Spec.load(path).document)


def test_every_fixture_loads_and_its_keys_belong_to_known_workspaces():
    world = load_world("scripe", dialects=declared_dialects())
    assert {k.workspace for k in world.keys} <= {w.id for w in world.workspaces}


def test_a_fixture_naming_an_unknown_error_kind_is_refused(tmp_path):
    (tmp_path / "scripe.yaml").write_text(
        (data_dir("fixtures") / "scripe.yaml")
        .read_text()
        .replace("RATE_LIMITED: {status: 429", "RATE_LIMITTED: {status: 429")
    )
    with pytest.raises(ValueError, match="RATE_LIMITTED"):
        load_world("scripe", tmp_path, dialects=declared_dialects())


def test_the_app_refuses_to_start_when_a_spec_operation_has_no_handler():
    from flask import Flask

    emu = emulator_of(create_app(Settings()))
    scripe = emu.vendors["scripe"]
    handlers = {"getHealth": lambda call: None}
    with pytest.raises(SpecMismatch, match="createUpload"):
        _mount(Flask("t"), emu, Vendor("scripe", scripe.profile, scripe.spec, handlers, "/s"))
    emu.close()


def test_every_spec_operation_is_routed():
    app = create_app(Settings())
    rules = {r.endpoint.split(".")[-1] for r in app.url_map.iter_rules()}
    emu = app.extensions["upload_emulator"]
    for vendor in emu.vendors.values():
        assert {op.operation_id for op in vendor.spec.operations} <= rules
    emu.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", False), ("false", False), ("No", False), ("off", False), ("1", True), ("true", True), (None, False)],
)
def test_env_flags_read_false_words_as_false(raw, expected):
    env = {} if raw is None else {"UPLOAD_EMULATOR_STRICT": raw}
    assert resolve({}, env)[0].strict is expected


def test_redact_never_shows_a_key_in_full():
    key = "scripe_sk_test_acme_full_access"
    shown = redact(key)
    assert key not in shown and shown.endswith("cess") and len(shown) < len(key)
    assert redact("short") != "short"


def test_settings_read_the_environment_once_with_flags_winning():
    env = {
        "UPLOAD_EMULATOR_HOST": "0.0.0.0",
        "UPLOAD_EMULATOR_PORT": "9001",
        "UPLOAD_EMULATOR_STRICT": "false",
        "UPLOAD_EMULATOR_LOG_LEVEL": "DEBUG",
        "UPLOAD_EMULATOR_LOG_FORMAT": "json",
        "UPLOAD_EMULATOR_FIXTURES": "/tmp/fx",
    }
    settings = Settings.from_env(env, port=7000)
    assert (settings.host, settings.port, settings.strict) == ("0.0.0.0", 7000, False)
    assert (settings.log_level, settings.log_format, str(settings.fixtures_dir)) == ("DEBUG", "json", "/tmp/fx")

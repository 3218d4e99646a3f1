"""The front runs spec operations without Flask's dispatch, and leaves everything else to Flask."""

from __future__ import annotations

import pytest
from support import FULL, make_app

from upload_emulator import pipeline
from upload_emulator.app import emulator_of
from upload_emulator.front import SpecFront

MINT = {"contentType": "audio/mpeg"}
AUTH = {"Authorization": f"Bearer {FULL}"}


def _front(app) -> SpecFront:
    layer = app.wsgi_app
    while not isinstance(layer, SpecFront):
        layer = layer.wsgi_app
    return layer


@pytest.fixture
def app_without_flask_dispatch():
    """An app whose Flask side fails any request it is handed: only the front can answer."""
    app = make_app()
    front = _front(app)
    flask_side = front.flask_wsgi
    handed: list[str] = []

    def refuse(environ, start_response):
        handed.append(environ["PATH_INFO"])
        return flask_side(environ, start_response)

    front.flask_wsgi = refuse
    yield app, handed
    emulator_of(app).close()


def test_a_mint_is_answered_and_journaled_without_flask(app_without_flask_dispatch):
    app, handed = app_without_flask_dispatch
    response = app.test_client().post("/scripe/v1/uploads", json=MINT, headers=AUTH)
    assert response.status_code == 200
    assert response.status == "200 OK"
    assert response.get_json()["data"]["uploadUrl"].startswith("http://localhost/s3/")
    assert handed == []
    (entry,) = emulator_of(app).journal.entries(operationId="createUpload")
    assert entry["status"] == 200 and entry["requestId"] == response.headers["X-Request-Id"]


def test_control_plane_calls_take_the_front_and_keep_their_guard(app_without_flask_dispatch):
    app, handed = app_without_flask_dispatch
    client = app.test_client()
    assert client.post("/_emulator/reset").status_code == 204
    refused = client.post("/_emulator/reset", headers={"Host": "evil.example"})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert handed == []


def test_an_allowed_origin_gets_cors_headers_from_the_front(app_without_flask_dispatch):
    app, handed = app_without_flask_dispatch
    response = app.test_client().post(
        "/scripe/v1/uploads", json=MINT, headers={**AUTH, "Origin": "http://localhost:5173"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert handed == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/scripe/v1/nowhere", 404),
        ("DELETE", "/scripe/v1/uploads", 405),
        ("OPTIONS", "/scripe/v1/uploads", 200),
        ("GET", "/", 200),
    ],
)
def test_what_no_operation_matches_goes_to_flask(app_without_flask_dispatch, method, path, status):
    app, handed = app_without_flask_dispatch
    response = app.test_client().open(path, method=method, headers=AUTH)
    assert response.status_code == status
    assert handed == [path]


def test_a_bug_outside_the_pipeline_answers_in_the_vendors_shape(monkeypatch):
    app = make_app()
    emu = emulator_of(app)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "run", broken)
    response = app.test_client().post("/scripe/v1/uploads", json=MINT, headers=AUTH)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert response.headers["X-Request-Id"].startswith("req_")
    assert any("boom" in message for message in emu.take_server_errors())
    emu.close()


@pytest.mark.parametrize("single", [None, "scripe", "streamloop", "ctxfy", "adclear"])
def test_no_fixed_path_flask_serves_is_taken_by_another_operation_in_the_front(single):
    app = make_app(**({"single_vendor": single} if single else {}))
    routes = _front(app).routes
    for rule in app.url_map.iter_rules():
        if "<" in rule.rule:
            continue
        for method in (rule.methods or set()) - {"OPTIONS", "HEAD"}:
            found = routes.match(rule.rule, method)
            assert found is None or rule.endpoint.endswith("." + found[1].operation_id), (method, rule.rule)
    emulator_of(app).close()


@pytest.mark.parametrize("single", [None, "scripe", "ctxfy"])
def test_a_path_without_parameters_is_found_as_the_url_map_finds_it(single):
    app = make_app(**({"single_vendor": single} if single else {}))
    routes = _front(app).routes
    paths = {rule.rule for rule in routes.map.iter_rules()}
    paths |= {p + "/" for p in paths} | {p.upper() for p in paths} | {"/" + p for p in paths}
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            found, by_map = routes.match(path, method), routes.match_by_map(path, method)
            assert (found and (found[0].name, found[1].operation_id, found[2])) == (
                by_map and (by_map[0].name, by_map[1].operation_id, by_map[2])
            ), (method, path)
            checked += found is not None
    assert checked > 20
    emulator_of(app).close()

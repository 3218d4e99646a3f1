"""`wire.Incoming` reads what werkzeug's Request reads, and `wire.response` sends what its Response sends.

Each is compared with werkzeug itself, field by field and byte by byte, over requests and
answers chosen for their edges: escaped and non-UTF-8 paths, hosts with and without ports
(and none at all), repeated and blank query keys, odd lengths, chunked bodies; every status
class, no body, a streamed body, HEAD, duplicate and differently-cased headers.
"""

from __future__ import annotations

import io
import itertools

import pytest
from flask import Request, Response
from hypothesis import given, settings
from hypothesis import strategies as st

from upload_emulator.wire import Incoming, RequestView, response

FIELDS = ("method", "path", "scheme", "host", "host_url", "content_length", "content_type", "remote_addr")


def _environ(**changes) -> dict:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/scripe/v1/uploads",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "4",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b"body"),
    }
    environ.update(changes)
    return {k: v for k, v in environ.items() if v is not None}


REQUESTS = {
    "a mint": {},
    "a lower-case method": {"REQUEST_METHOD": "get"},
    "an escaped path": {"PATH_INFO": "/a%20b/c"},
    "a UTF-8 path as WSGI's latin-1": {"PATH_INFO": "/caf\u00c3\u00a9"},
    "a path that is not UTF-8": {"PATH_INFO": "/\u00ff\u00fe"},
    "no path at all": {"PATH_INFO": None},
    "doubled slashes": {"PATH_INFO": "//x//y/"},
    "a repeated, blank and escaped query": {"QUERY_STRING": "a=1&a=2&b=&c&d=%E2%82%AC&e=%ff"},
    "a host without a port": {"HTTP_HOST": "localhost"},
    "a default port written out": {"HTTP_HOST": "example.test:80"},
    "https on 443": {"HTTP_HOST": "example.test:443", "wsgi.url_scheme": "https"},
    "no Host header": {"HTTP_HOST": None},
    "no Host and no port": {"HTTP_HOST": None, "SERVER_PORT": None},
    "no Host and a bad port": {"HTTP_HOST": None, "SERVER_PORT": "http"},
    "an IPv6 host": {"HTTP_HOST": "[::1]:8080"},
    "no Content-Length": {"CONTENT_LENGTH": None},
    "a negative Content-Length": {"CONTENT_LENGTH": "-3"},
    "a Content-Length that is not a number": {"CONTENT_LENGTH": "four"},
    "a chunked body": {"CONTENT_LENGTH": None, "HTTP_TRANSFER_ENCODING": "chunked"},
    "a server that ends the body itself": {"wsgi.input_terminated": True, "CONTENT_LENGTH": None},
    "no Content-Type": {"CONTENT_TYPE": None},
    "no client address": {"REMOTE_ADDR": None},
}


@pytest.mark.parametrize("changes", REQUESTS.values(), ids=REQUESTS.keys())
def test_an_incoming_request_reads_every_field_as_werkzeug_does(changes):
    theirs, ours = Request(_environ(**changes)), Incoming(_environ(**changes))
    for name in FIELDS:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert list(ours.args.items(multi=True)) == list(theirs.args.items(multi=True))
    assert dict(ours.headers.items()) == dict(theirs.headers.items())
    for name in ("Host", "host", "content-type", "Content-Length", "Transfer-Encoding", "X-Missing", "Origin"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
        assert ours.headers.get(name, "none") == theirs.headers.get(name, "none"), name
        assert ours.headers.get(name, type=int) == theirs.headers.get(name, type=int), name
        assert (name in ours.headers) == (name in theirs.headers), name
    assert ours.stream.read() == theirs.stream.read()


def test_both_kinds_of_request_are_what_the_pipeline_reads():
    def reads(request: RequestView) -> str:
        return f"{request.method} {request.host}{request.path}"

    assert reads(Incoming(_environ())) == reads(Request(_environ())) == "POST 127.0.0.1:8080/scripe/v1/uploads"


def _sent(app, method: str = "POST") -> tuple[str, list[tuple[str, str]], bytes]:
    started: list = []
    environ = _environ(REQUEST_METHOD=method)
    result = app(environ, lambda status, headers, exc_info=None: started.append((status, list(headers))))
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return started[0][0], started[0][1], body


def _werkzeug(body, status: int, headers: dict, content_type: str) -> Response:
    """How the pipeline answered before `wire`: werkzeug's Response, then its Content-Type."""
    answer = Response(body if body is not None else b"", status=status, headers=headers)
    if body is not None:
        answer.headers["Content-Type"] = content_type
    else:
        answer.headers.pop("Content-Type", None)
    return answer


STATUSES = [200, 201, 202, 204, 206, 301, 304, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503, 299, 599]
HEADERS = [
    {"X-Request-Id": "req_1"},
    {"X-Request-Id": "req_1", "Retry-After": 1, "X-RateLimit-Remaining": 0},
    {"X-Request-Id": "req_1", "Content-Type": "application/problem+json"},
    {"X-Request-Id": "req_1", "content-type": "text/html", "Content-Length": "99"},
    {"Location": "http://127.0.0.1:8080/caf\u00e9?x=\u00e9", "ETag": '"abc"', "Expires": "0"},
    {"Content-Location": "/a b", "Last-Modified": "Tue, 01 Dec 2026 00:00:00 GMT", "X-a": "1", "x-A": "2"},
]
BODIES = [b'{"data": {"id": "upl_1"}}', b"", None]


@pytest.mark.parametrize(
    ("status", "headers", "body", "method"),
    list(itertools.product(STATUSES, HEADERS, BODIES, ["POST", "HEAD"])),
)
def test_a_response_sends_what_werkzeugs_response_would_send(status, headers, body, method):
    ours = response(body, status, dict(headers), "application/json")
    theirs = _werkzeug(body, status, dict(headers), "application/json")
    assert _sent(ours, method) == _sent(theirs, method)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    status=st.sampled_from(STATUSES),
    chunks=st.lists(st.binary(max_size=20), max_size=4),
    method=st.sampled_from(["GET", "HEAD"]),
    origin=st.sampled_from([None, "http://localhost:3000"]),
)
def test_a_streamed_body_and_what_finish_adds_come_out_as_from_werkzeug(status, chunks, method, origin):
    closed: list[str] = []

    class stream:  # a body that must be closed (a file, say), read or not
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def __iter__(self):
            return iter(chunks)

        def close(self) -> None:
            closed.append(self.tag)

    ours = response(stream("ours"), status, {"X-Request-Id": "req_1"}, "application/octet-stream")
    theirs = _werkzeug(stream("theirs"), status, {"X-Request-Id": "req_1"}, "application/octet-stream")
    for answer in (ours, theirs):  # what app.finish does: the reason phrase, then CORS headers
        answer.status = f"{status} Said Otherwise"
        if origin:
            answer.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
    assert _sent(ours, method) == _sent(theirs, method)
    assert sorted(closed) == ["ours", "theirs"]  # a streamed body is closed, sent or not


def test_a_header_value_with_a_newline_is_refused_as_werkzeug_refuses_it():
    with pytest.raises(ValueError, match="newline"):
        Response(b"", headers={"X-Bad": "a\r\nSet-Cookie: x"})
    with pytest.raises(ValueError, match="newline"):
        response(b"", 200, {"X-Bad": "a\r\nSet-Cookie: x"}, "text/plain")

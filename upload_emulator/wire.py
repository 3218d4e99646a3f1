"""The request and response of a spec operation: werkzeug's, without what their objects cost.

werkzeug's Request works out a dozen fields when it is made, each later one through a
Python-level cached property, and its Response builds and validates a header list twice
(once made, once sent); together about a sixth of a mint. A spec operation reads a few
fields of its request and answers with a status, a handful of headers and a body, so the
front (`front.py`) gives the pipeline an `Incoming` and sends its `Outgoing`. Both answer
with werkzeug's own helpers, so every field and every byte sent is what werkzeug's objects
would give: `tests/unit/test_wire.py` compares them over odd paths, hosts, queries, lengths,
statuses and bodies. Flask-routed requests keep werkzeug's objects: the pipeline and `finish`
read only what both have (`RequestView`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol
from urllib.parse import parse_qsl

from werkzeug.datastructures import EnvironHeaders, Headers, ImmutableMultiDict
from werkzeug.http import HTTP_STATUS_CODES, remove_entity_headers
from werkzeug.sansio.utils import get_current_url, get_host
from werkzeug.urls import iri_to_uri  # importing werkzeug.urls also registers its query error handler
from werkzeug.wsgi import ClosingIterator, get_content_length, get_input_stream

# environ key: a list a server offers for work to run once the answer is on its way. The quick
# lane offers one (it answers on the thread that runs the app, so the client waits for nothing
# else); the pipeline puts a call's journal entry and log line there. Absent, the work runs at once.
AFTER_SEND = "upload_emulator.after_send"
# environ key: the whole body as bytes, where the server has read all of it already (the quick
# lane: a request it takes has arrived whole). `wsgi.input` still gives the same bytes.
WHOLE_BODY = "upload_emulator.whole_body"


class RequestView(Protocol):
    """What the pipeline, its handlers and `finish` read of a request: werkzeug's and `Incoming` both have it."""

    @property
    def environ(self) -> Any: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def args(self) -> Any: ...
    @property
    def scheme(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def host_url(self) -> str: ...
    @property
    def content_length(self) -> int | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def stream(self) -> IO[bytes]: ...
    @property
    def remote_addr(self) -> str | None: ...


class _Headers(EnvironHeaders):
    """werkzeug's view of the environ's headers, whose `get` and `in` look the key up instead of
    raising and catching a KeyError for every header a request did not send (most of them)."""

    def get(self, key, default=None, type=None):
        if type is not None or not isinstance(key, str):
            return super().get(key, default, type)
        environ_key = _ENVIRON_KEYS.get(key)
        if environ_key is None:
            environ_key = _environ_key(key)
        value = self.environ.get(environ_key)
        return default if value is None else value

    def __contains__(self, key) -> bool:
        return self.get(key) is not None if isinstance(key, str) else super().__contains__(key)


_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_ENVIRON_KEYS: dict[str, str] = {}  # a header name as asked for -> its environ key


def _environ_key(name: str) -> str:
    """Where the environ holds header `name`. The code asks for the same few names on every
    request, so each is worked out once; past 256 names (a client's own, asked for by a rule)
    they are worked out each time."""
    upper = name.upper().replace("-", "_")
    key = upper if upper in _UNPREFIXED else "HTTP_" + upper
    if len(_ENVIRON_KEYS) < 256:
        _ENVIRON_KEYS[name] = key
    return key


_UNSET: Any = object()


class Incoming:
    """A request read straight from its environ, each field worked out on first read as werkzeug does."""

    __slots__ = ("_args", "_content_length", "_host", "_stream", "environ", "headers", "method", "path")

    def __init__(self, environ: dict) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.path: str = "/" + _decoded(environ.get("PATH_INFO") or "").lstrip("/")
        self.headers = _Headers(environ)
        self._args: ImmutableMultiDict | None = None
        self._host: str | None = None
        self._stream: IO[bytes] | None = None
        self._content_length: int | None = _UNSET

    @property
    def scheme(self) -> str:
        return self.environ.get("wsgi.url_scheme", "http")

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    @property
    def args(self) -> ImmutableMultiDict:
        if self._args is None:
            query = self.environ.get("QUERY_STRING", "").encode("latin1").decode()
            pairs = parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote") if query else ()
            self._args = ImmutableMultiDict(pairs)
        return self._args

    @property
    def host(self) -> str:
        if self._host is None:
            self._host = get_host(self.scheme, self.headers.get("host"), _server(self.environ), None)
        return self._host

    @property
    def host_url(self) -> str:
        return get_current_url(self.scheme, self.host)

    @property
    def content_length(self) -> int | None:
        if self._content_length is _UNSET:
            self._content_length = get_content_length(self.environ)
        return self._content_length

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def stream(self) -> IO[bytes]:
        if self._stream is None:
            self._stream = get_input_stream(self.environ, max_content_length=None)
        return self._stream


def _decoded(value: str) -> str:
    """PATH_INFO as werkzeug reads it: WSGI's latin-1 string, read back as UTF-8."""
    return value.encode("latin1").decode(errors="replace")


def _server(environ: dict) -> tuple[str, int | None] | None:
    """(SERVER_NAME, SERVER_PORT) as werkzeug reads them, for a request without a Host header."""
    name = environ.get("SERVER_NAME")
    if name is None:
        return None
    try:
        port: int | None = int(environ.get("SERVER_PORT") or "")
    except (TypeError, ValueError):
        port = None
    return name, port


class HeaderList:
    """A response's headers: names keep their case and order, lookups ignore case. Made from a
    dict, every pair is added (as werkzeug's Headers does); `update` and `[]=` replace."""

    __slots__ = ("items_",)

    def __init__(self, pairs: dict[str, Any] | None = None) -> None:
        self.items_: list[tuple[str, str]] = [(name, _checked(value)) for name, value in (pairs or {}).items()]

    def __contains__(self, name: str) -> bool:
        wanted = name.lower()
        return any(key.lower() == wanted for key, _ in self.items_)

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.items_ if key.lower() == wanted), default)

    def __setitem__(self, name: str, value: Any) -> None:
        """As werkzeug's `set`: the first header of that name takes the value, the others go."""
        value, wanted = _checked(value), name.lower()
        for n, (key, _) in enumerate(self.items_):
            if key.lower() == wanted:
                self.items_[n] = (name, value)
                self.items_[n + 1 :] = [item for item in self.items_[n + 1 :] if item[0].lower() != wanted]
                return
        self.items_.append((name, value))

    def update(self, pairs: dict[str, Any]) -> None:
        for name, value in pairs.items():
            self[name] = value

    def pop(self, name: str, default: str | None = None) -> str | None:
        found = self.get(name, default)
        wanted = name.lower()
        self.items_ = [item for item in self.items_ if item[0].lower() != wanted]
        return found

    def items(self) -> list[tuple[str, str]]:
        return list(self.items_)


def _checked(value: Any) -> str:
    value = str(value)
    if "\n" in value or "\r" in value:
        raise ValueError("Header values must not contain newline characters.")
    return value


def response(body: bytes | Iterable[bytes] | None, status: int, headers: dict[str, Any], content_type: str) -> Outgoing:
    """What werkzeug's `Response(body or b"", status, headers)` would be once its Content-Type is set
    to `content_type`, or removed when there is no body: the same headers in the same order."""
    data = b"" if body is None else body
    sent = HeaderList(headers)
    if not _ENTITY_NAMES.intersection(name.lower() for name in headers):  # the usual case, in one pass
        if body is not None:
            sent.items_.append(("Content-Type", _checked(content_type)))
        if isinstance(data, bytes):
            sent.items_.append(("Content-Length", str(len(data))))
        return Outgoing(data, status, sent)
    if "Content-Type" not in sent:  # where werkzeug puts its default, which `content_type` then replaces
        sent["Content-Type"] = "text/plain; charset=utf-8"
    if isinstance(data, bytes):
        sent["Content-Length"] = len(data)
    if body is None:
        sent.pop("Content-Type")
    else:
        sent["Content-Type"] = content_type
    return Outgoing(data, status, sent)


_ENTITY_NAMES = frozenset({"content-type", "content-length"})
_LOCATIONS = frozenset({"location", "content-location"})


class Outgoing:
    """A response: a status, headers and a body (bytes, an iterable of chunks, or nothing), sent as
    werkzeug's Response would send the same: its status line, its Content-Length rules, no body
    for HEAD, 1xx, 204 and 304, and an iterable body closed however the request ends."""

    __slots__ = ("body", "headers", "status", "status_code")

    def __init__(self, body: bytes | Iterable[bytes] | None, status: int, headers: HeaderList) -> None:
        self.status_code = status
        phrase = HTTP_STATUS_CODES.get(status)
        self.status = f"{status} {phrase.upper()}" if phrase else f"{status} UNKNOWN"
        self.headers = headers
        self.body = body

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        status, sent = self.status_code, HeaderList()
        sent.items_ = list(self.headers.items_)
        if not _LOCATIONS.isdisjoint([name.lower() for name, _ in sent.items_]):  # seldom: one pass to see
            for name in ("Location", "Content-Location"):
                if name in sent:
                    sent[name] = iri_to_uri(sent.get(name) or "")
        if 100 <= status < 200 or status == 204:
            sent.pop("Content-Length")
        elif status == 304:
            remove_entity_headers(sent.items_)
        start_response(self.status, sent.items_)
        body = self.body
        empty = environ["REQUEST_METHOD"] == "HEAD" or 100 <= status < 200 or status in (204, 304)
        if isinstance(body, bytes):
            return () if empty else [body]
        return ClosingIterator(() if empty else _chunks(body), getattr(body, "close", None))


def _chunks(body: Iterable[bytes] | None) -> Iterator[bytes]:
    yield from body or ()

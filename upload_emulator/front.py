"""The spec operations' fast lane: matched and run without Flask's per-request machinery.

Flask's request and app contexts, its before/after hooks and its dispatch cost as much as a
whole health check, and a spec-routed call needs none of them: the pipeline takes its
request as an argument and answers with a werkzeug Response. So `SpecFront` sits in front
of the Flask app, matches the spec operations on their own URL map (the same rules Flask
holds), and runs the pipeline directly, with the same control-plane guard, response finish
and last-resort error answer the Flask hooks apply. Anything it does not match exactly (a
preflight, an unknown path, a wrong method, a redirect, the S3 endpoint, the pages) goes to
Flask unchanged, so routing errors keep one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.routing.exceptions import RoutingException

from upload_emulator import pipeline
from upload_emulator.wire import Incoming, Outgoing, RequestView

if TYPE_CHECKING:
    from flask import Response

    from upload_emulator.runtime import Emulator, Vendor
    from upload_emulator.spec import Operation


class SpecRoutes:
    """Every served spec operation's rule, in a URL map of their own.

    A path with no parameters (the mint's `/scripe/v1/uploads`) is found in a dict first: the
    URL map would answer the same, since it ranks a fixed segment above a parameter, and
    anything the dict does not hold exactly (another method, a trailing slash) goes to it.
    """

    def __init__(self) -> None:
        self.map = Map()
        self.operations: dict[str, tuple[Vendor, Operation]] = {}
        self._fixed: dict[tuple[str, str], tuple[Vendor, Operation]] = {}
        self._adapter = self.map.bind("emulator")  # matching reads only the path and method

    def add(self, vendor: Vendor, op: Operation) -> None:
        endpoint = f"{vendor.name}.{op.operation_id}"
        rule = (vendor.mount_path or "") + op.flask_rule
        self.map.add(Rule(rule, endpoint=endpoint, methods=[op.method], strict_slashes=False))
        self.operations[endpoint] = (vendor, op)
        if "<" not in rule:
            self._fixed[(rule, op.method)] = (vendor, op)

    def match(self, path: str, method: str) -> tuple[Vendor, Operation, dict[str, Any]] | None:
        """The operation `method path` names, or None when Flask should decide (no match,
        another method, a redirect)."""
        fixed = self._fixed.get((path, method))
        if fixed is not None:
            return fixed[0], fixed[1], {}
        return self.match_by_map(path, method)

    def match_by_map(self, path: str, method: str) -> tuple[Vendor, Operation, dict[str, Any]] | None:
        """What the URL map alone says (tests hold the dict to it)."""
        try:
            endpoint, args = self._adapter.match(path, method)
        except (HTTPException, RoutingException):
            return None
        vendor, op = self.operations[endpoint]
        return vendor, op, dict(args)


class SpecFront:
    """WSGI: spec operations straight to the pipeline; everything else to Flask."""

    def __init__(
        self,
        routes: SpecRoutes,
        flask_wsgi: Callable,
        emu: Emulator,
        *,
        guard: Callable[[Emulator, RequestView], Response | None],
        finish: Callable[[Emulator, RequestView, Response | Outgoing], Response | Outgoing],
        unexpected: Callable[[Emulator, RequestView, Exception], Response],
    ) -> None:
        self.routes = routes
        self.flask_wsgi = flask_wsgi
        self.emu = emu
        self.guard = guard
        self.finish = finish
        self.unexpected = unexpected

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "OPTIONS":  # preflights and Allow are Flask's
            return self.flask_wsgi(environ, start_response)
        request = Incoming(environ)
        found = self.routes.match(request.path, request.method)
        if found is None:
            return self.flask_wsgi(environ, start_response)
        vendor, op, path_params = found
        response: Response | Outgoing | None
        try:
            response = self.guard(self.emu, request)
            if response is None:
                response = pipeline.run(self.emu, vendor, op, request, path_params)
            response = self.finish(self.emu, request, response)
        except Exception as exc:  # a bug outside the pipeline's own net
            response = self.finish(self.emu, request, self.unexpected(self.emu, request, exc))
        return response(environ, start_response)

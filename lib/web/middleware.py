"""ASGI middleware of every function: rewrites of a function family, query-length cap,
HEAD and OPTIONS, and ETag/304."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl, urlencode

from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .responses import NO_STORE, error_response

__all__ = [
    "MAX_QUERY_BYTES",
    "ROUTE_PARAMETER",
    "ETagMiddleware",
    "FamilyRouteMiddleware",
    "MethodsMiddleware",
    "QueryLimitMiddleware",
    "allowed_methods",
]


def _leaf_routes(router: Router) -> Iterator[BaseRoute]:
    """The routes of ``router``, those of included routers (which add no prefix here) too."""
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if isinstance(included, Router):
            yield from _leaf_routes(included)
        else:
            yield route


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """Every method some route serves at this scope's path (HEAD with GET, and OPTIONS)."""
    methods: set[str] = set()
    for route in _leaf_routes(router):
        match, _ = route.matches({**scope, "method": "GET"})
        if match != Match.NONE:  # PARTIAL: the path matches, the method may not
            methods.update(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"}) if methods else []


# The query parameter a vercel.json rewrite uses to say which path of a function family was
# asked for: {"source": "/api/metrics/:route", "destination": "/api/metrics?_route=:route"}.
ROUTE_PARAMETER = "_route"
_ROUTE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


class FamilyRouteMiddleware:
    """Restore the path a client asked for when Vercel rewrote it to a family's function.

    Vercel hands a rewritten request to the function with the destination's path; the
    destination carries the original last segment in ``_route``. A request that still has
    its own path (local serving, another host) passes through untouched.
    """

    def __init__(self, app: ASGIApp, families: Iterable[str] = ()) -> None:
        self.app = app
        self.families = frozenset(families)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.families:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                              keep_blank_values=True)
            routes = [v for k, v in query if k == ROUTE_PARAMETER]
            if len(routes) == 1 and _ROUTE_NAME.match(routes[0]):
                path = f"{scope['path']}/{routes[0]}"
                rest = urlencode([(k, v) for k, v in query if k != ROUTE_PARAMETER])
                scope = {**scope, "path": path, "raw_path": path.encode(),
                         "query_string": rest.encode("latin-1")}
        await self.app(scope, receive, send)


# Longer query strings are refused before anything parses them (Vercel itself accepts URLs
# up to 14 KB). Every request the OpenAPI document describes fits well inside this.
MAX_QUERY_BYTES = 16 * 1024


class QueryLimitMiddleware:
    """``414 uri_too_long`` for a query string past MAX_QUERY_BYTES: parsing tens of
    thousands of repeated parameters would cost more than any valid request does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            response = error_response(414, "uri_too_long", f"the query string is longer than "
                                      f"{MAX_QUERY_BYTES} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class MethodsMiddleware:
    """``HEAD`` answered as ``GET`` without the body; a plain ``OPTIONS`` lists ``Allow``.

    CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) never get here:
    the CORS middleware outside this one answers them.
    """

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._options(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                if started:
                    return
                started.append(True)
            await send(message)

        started: list[bool] = []
        await self.app({**scope, "method": "GET"}, receive, without_body)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = allowed_methods(self.router, scope)
        if not methods:
            await self.app(scope, receive, send)  # an unknown path: the router's 404
            return
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"allow", ", ".join(methods).encode()), (b"cache-control", NO_STORE.encode())]})
        await send({"type": "http.response.body", "body": b""})


class ETagMiddleware:
    """Strong ETags on successful GETs, and ``304 Not Modified`` on a matching If-None-Match.

    The body is hashed before compression (GZip wraps this middleware), so the tag names the
    representation's content, whatever the encoding.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _finish(scope: Scope, start: Message | None, body: bytes, send: Send) -> None:
        assert start is not None
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        cache_control = dict(headers).get(b"cache-control", b"")
        if start["status"] != 200 or cache_control == NO_STORE.encode():
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        tag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        headers.append((b"etag", tag))
        wanted = dict(scope["headers"]).get(b"if-none-match", b"")
        if tag in [t.strip().removeprefix(b"W/") for t in wanted.split(b",")] or wanted == b"*":
            keep = {b"etag", b"cache-control", b"x-data-source", b"vary"}
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(k, v) for k, v in headers if k.lower() in keep]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})



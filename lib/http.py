"""The one app factory every Vercel function uses: errors, CORS, ETag/304, gzip, OpenAPI.

Each ``api/<path>.py`` builds its app with ``create_app(router)``; the local server and the
OpenAPI function combine every router with ``create_app(*routers, docs=True)``.

Error responses share one shape::

    {"error": {"code": "invalid_parameter", "message": "...", "parameter": "limit"}}
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import get_settings
from .errors import (
    AuthError,
    ConfigError,
    FleetError,
    InvalidParameter,
    SourceUnavailable,
    StoreError,
    StoreUnavailable,
    UnknownServer,
)
from .params import PARAMETER_SCHEMAS
from .redact import redact, secrets_of

__all__ = [
    "ERROR_RESPONSES",
    "MAX_QUERY_BYTES",
    "ROUTE_PARAMETER",
    "CachePolicy",
    "RangeError",
    "create_app",
    "error_response",
    "json_response",
]

logger = logging.getLogger(__name__)


class RangeError(InvalidParameter):
    """Well-formed values that contradict each other (an end before its start): 422."""


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """``Cache-Control`` for shared caches (Vercel's CDN); browsers always revalidate."""

    s_maxage: int
    stale_while_revalidate: int

    def header(self) -> str:
        return (f"public, max-age=0, s-maxage={self.s_maxage}, "
                f"stale-while-revalidate={self.stale_while_revalidate}")


NO_STORE = "no-store"


def json_response(
    payload: Any, *, source: str, cache: CachePolicy | None, status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON response saying where its data came from and how long it may be cached."""
    body = orjson.dumps(payload)
    extra = {"X-Data-Source": source,
             "Cache-Control": cache.header() if cache is not None else NO_STORE}
    extra.update(headers or {})
    return Response(body, status_code=status, media_type="application/json", headers=extra)


def error_response(status: int, code: str, message: str, parameter: str | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    error: dict[str, str] = {"code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return JSONResponse({"error": error}, status_code=status,
                        headers={"Cache-Control": NO_STORE, **(headers or {})})


_ERROR_SCHEMA = {
    "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "parameter": {"type": "string"}}, "required": ["code", "message"]}},
        "required": ["error"],
    }}},
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad parameter", **_ERROR_SCHEMA},
    414: {"description": "Query string too long", **_ERROR_SCHEMA},
    404: {"description": "Unknown server", **_ERROR_SCHEMA},
    422: {"description": "Contradictory parameters", **_ERROR_SCHEMA},
    503: {"description": "Store, cache or source unavailable", **_ERROR_SCHEMA},
}


def _log_failure(what: str, exc: FleetError) -> None:
    """Log an outage, every configured credential masked.

    The adapter's message already summarises the driver's (and masks its own credentials);
    the cause chain is not logged, as a driver's text can quote a DSN.
    """
    try:
        secrets = secrets_of(get_settings())
    except ConfigError:
        secrets = []
    logger.warning("%s failed: %s: %s", what, type(exc).__name__, redact(str(exc), secrets))


def _fleet_error(request: Request, exc: Exception) -> Response:
    """Translate the project's errors to HTTP in one place.

    Outages answer with a stable code and the error class's public message only: a driver's
    text can name hosts, ports, SQL or a password, so it goes to the log, redacted.
    """
    if isinstance(exc, UnknownServer):
        return error_response(404, "unknown_server", str(exc.detail), exc.parameter)
    if isinstance(exc, RangeError):
        return error_response(422, "invalid_range", exc.detail, exc.parameter)
    if isinstance(exc, InvalidParameter):
        return error_response(400, "invalid_parameter", exc.detail, exc.parameter)
    if isinstance(exc, AuthError):
        return error_response(401, "unauthorized", str(exc),
                              headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, StoreUnavailable | StoreError):
        _log_failure("store", exc)
        return error_response(503, "store_unavailable", exc.public)
    if isinstance(exc, SourceUnavailable):
        _log_failure("source", exc)
        return error_response(503, "source_unavailable", exc.public)
    if isinstance(exc, ConfigError):
        logger.error("misconfigured: %s", exc.variable)
        return error_response(503, "misconfigured", f"server misconfigured: {exc.variable}")
    return _unexpected(request, exc)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "body")]
    parameter = location[0] if location else "request"
    if first.get("type") == "missing":
        return error_response(400, "missing_parameter", f"{parameter} is required", parameter)
    message = str(first.get("msg", "invalid value"))
    return error_response(400, "invalid_parameter", f"{parameter}: {message}", parameter)


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


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app.router, request.scope))
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"),
                          str(exc.detail), headers=headers)


def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "unexpected server error (a bug; it is logged)")


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


def create_app(*routers: APIRouter, title: str = "Fleet metrics API", docs: bool = False,
               families: Iterable[str] = ()) -> FastAPI:
    """A FastAPI app with the project's error handling, CORS, ETag/304, gzip and OpenAPI.

    Single-function apps keep their OpenAPI out of the way (Vercel routes only the
    function's own path); the combined app (``docs=True``) serves ``/api/openapi.json``,
    and the docs function serves the UI and the schema on its one path (lib/local.py).
    ``families`` are the paths of functions that serve several paths through a vercel.json
    rewrite (FamilyRouteMiddleware).
    """
    app = FastAPI(
        title=title,
        version="1.0.0",
        openapi_url="/api/openapi.json" if docs else None,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redirect_slashes=False,  # Vercel's cron does not follow redirects
    )
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(FleetError, _fleet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(ETagMiddleware)
    # Level 1: a fleet-day compresses 5x in ~3 ms; level 9 (the default) takes ~10x longer
    # for a body only a third smaller. Compressing inline (no thread hop) is cheaper at that
    # speed; a serverless instance serves one request at a time anyway.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1,
                       thread_minimum_size=8 * 1024 * 1024)
    app.add_middleware(MethodsMiddleware, router=app.router)
    # Read directly: a malformed unrelated setting must not stop the function from importing.
    origins = [o.strip() for o in os.environ.get("CORS_ORIGINS", "*").split(",") if o.strip()]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins or ["*"],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["Authorization", "If-None-Match", "Content-Type"],
        expose_headers=["ETag", "X-Data-Source"],
        max_age=600,
    )
    app.add_middleware(FamilyRouteMiddleware, families=tuple(families))
    app.add_middleware(QueryLimitMiddleware)
    app.openapi = lambda: _exact_openapi(app)  # type: ignore[method-assign]
    return app


def _exact_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with each parameter described as lib.params validates it."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    exact = PARAMETER_SCHEMAS.get(parameter["name"])
                    if exact is not None and parameter["in"] == "query":
                        parameter.update(exact)
        app.openapi_schema = schema
    return app.openapi_schema

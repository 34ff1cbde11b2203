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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

__all__ = [
    "ERROR_RESPONSES",
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
    404: {"description": "Unknown server", **_ERROR_SCHEMA},
    422: {"description": "Contradictory parameters", **_ERROR_SCHEMA},
    503: {"description": "Store, cache or source unavailable", **_ERROR_SCHEMA},
}


def _fleet_error(request: Request, exc: Exception) -> Response:
    """Translate the project's errors to HTTP in one place."""
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
        logger.warning("store failed: %s", exc)
        return error_response(503, "store_unavailable", f"the metrics store failed: {exc}")
    if isinstance(exc, SourceUnavailable):
        logger.warning("source failed: %s", exc)
        return error_response(503, "source_unavailable", f"the metrics source failed: {exc}")
    if isinstance(exc, ConfigError):
        logger.error("misconfigured: %s", exc)
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


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"),
                          str(exc.detail), headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "unexpected server error (a bug; it is logged)")


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


def create_app(*routers: APIRouter, title: str = "Fleet metrics API", docs: bool = False
               ) -> FastAPI:
    """A FastAPI app with the project's error handling, CORS, ETag/304, gzip and OpenAPI.

    Single-function apps keep their OpenAPI out of the way (Vercel routes only the
    function's own path); the combined app (``docs=True``) serves ``/api/openapi.json``,
    and the docs function serves the UI and the schema on its one path (lib/local.py).
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
    # Read directly: a malformed unrelated setting must not stop the function from importing.
    origins = [o.strip() for o in os.environ.get("CORS_ORIGINS", "*").split(",") if o.strip()]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins or ["*"],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "If-None-Match", "Content-Type"],
        expose_headers=["ETag", "X-Data-Source"],
        max_age=600,
    )
    return app

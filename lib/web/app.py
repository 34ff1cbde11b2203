"""The one app factory every Vercel function uses: errors, CORS, ETag/304, gzip, OpenAPI.

Each ``api/<path>.py`` builds its app with ``create_app(router)``; the local server and the
docs function combine every router with ``create_app(*routers, docs=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from lib.core import ConfigError, get_settings

from .errors import install_error_handlers
from .middleware import (
    ETagMiddleware,
    FamilyRouteMiddleware,
    MethodsMiddleware,
    QueryLimitMiddleware,
)
from .openapi import exact_openapi

__all__ = ["create_app"]


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
    install_error_handlers(app)
    app.add_middleware(ETagMiddleware)
    # Level 1: a fleet-day compresses 5x in ~3 ms; level 9 (the default) takes ~10x longer
    # for a body only a third smaller. Compressing inline (no thread hop) is cheaper at that
    # speed; a serverless instance serves one request at a time anyway.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1,
                       thread_minimum_size=8 * 1024 * 1024)
    app.add_middleware(MethodsMiddleware, router=app.router)
    app.add_middleware(SettingsCORSMiddleware)
    app.add_middleware(FamilyRouteMiddleware, families=tuple(families))
    app.add_middleware(QueryLimitMiddleware)
    app.openapi = lambda: exact_openapi(app)  # type: ignore[method-assign]
    return app




class SettingsCORSMiddleware:
    """CORS for ``Settings.allowed_origins``, built on the first request.

    Not at import: a malformed unrelated setting must not stop a function from importing (it
    answers 503 ``misconfigured`` instead); CORS then allows any origin, as by default.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cors: CORSMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._cors is None:
            try:
                origins = get_settings().allowed_origins
            except ConfigError:
                origins = ["*"]
            self._cors = CORSMiddleware(
                self.app, allow_origins=origins,
                allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                allow_headers=["Authorization", "If-None-Match", "Content-Type"],
                expose_headers=["ETag", "X-Data-Source"], max_age=600,
            )
        await self._cors(scope, receive, send)

"""Every Vercel function in one app: the local server, the docs function and the tests.

The functions are found the way Vercel finds them — each ``.py`` file under ``api/`` with a
module-level ``app`` — and loaded from their paths (``generate-batch.py`` is no identifier).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response

from .app import create_app

__all__ = ["API_DIR", "combined_app", "docs_router", "function_modules", "openapi_schema"]

API_DIR = Path(__file__).resolve().parents[2] / "api"
PUBLIC_DIR = Path(__file__).resolve().parents[2] / "public"


def _load(path: Path) -> ModuleType:
    name = "api_" + "_".join(path.relative_to(API_DIR).with_suffix("").parts).replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@cache
def function_modules() -> dict[str, ModuleType]:
    """Every function module by its path under api/ (e.g. ``metrics.py``)."""
    found = {}
    for path in sorted(API_DIR.rglob("*.py")):
        module = _load(path)
        if hasattr(module, "app") and hasattr(module, "router"):
            found[str(path.relative_to(API_DIR))] = module
    return found


def combined_app(*, local: bool = False) -> FastAPI:
    """All functions' routes on one app, with OpenAPI at /api/openapi.json and /api/docs.

    ``local`` marks the local development server: the batch runs without a CRON_SECRET there
    (deps.provide_local), and nowhere else.
    """
    modules = function_modules().values()
    routers: list[APIRouter] = [m.router for m in modules]
    families = [m.FAMILY for m in modules if hasattr(m, "FAMILY")]
    app = create_app(*routers, title="Fleet metrics API", docs=True, families=families)
    if local:
        from .deps import provide_local

        app.dependency_overrides[provide_local] = lambda: True
        if PUBLIC_DIR.is_dir():
            serve_public(app)
    return app


def serve_public(app: FastAPI) -> None:
    """The dashboard, as Vercel serves public/ beside the functions: ``/`` is index.html,
    every file and folder of public/ at its own path. Nothing is mounted at ``/`` itself, so
    a wrong method on an API path still answers 405, not a static 404."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    def file(path: Path) -> Any:
        return lambda: FileResponse(path)

    app.add_api_route("/", file(PUBLIC_DIR / "index.html"), include_in_schema=False)
    for entry in sorted(PUBLIC_DIR.iterdir()):
        if entry.is_dir():
            app.mount(f"/{entry.name}", StaticFiles(directory=entry), name=entry.name)
        else:
            app.add_api_route(f"/{entry.name}", file(entry), include_in_schema=False)


@cache
def openapi_schema() -> dict[str, Any]:
    """The OpenAPI description of every function."""
    return combined_app().openapi()


def docs_router() -> APIRouter:
    """``GET /api/docs``: Swagger UI, and the schema itself at ``/api/docs?format=openapi``.

    One path only, because Vercel routes a request to the file its path names.
    """
    router = APIRouter()

    @router.get("/api/docs", include_in_schema=False)
    def docs(format: str | None = None) -> Response:
        if format == "openapi":
            return JSONResponse(openapi_schema())
        return get_swagger_ui_html(openapi_url="/api/docs?format=openapi",
                                   title="Fleet metrics API")

    return router

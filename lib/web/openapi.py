"""The OpenAPI document, with each query parameter described exactly as it is validated.

FastAPI describes the parameters by their Python types; the values' real contract (patterns,
enums, list sizes) lives with the use cases (lib.app.params.VALUE_SCHEMAS, by the name the
handler knows each parameter by). This replaces each schema with that contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from lib.app.params import MAX_ITEMS, VALUE_SCHEMAS

from .errors import query_names

__all__ = ["exact_openapi"]


def exact_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every query parameter's schema from VALUE_SCHEMAS."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for route in _routes(app):
            names = {alias: name for name, alias in query_names(route).items()}
            for method in route.methods or ():
                operation = schema["paths"].get(route.path, {}).get(method.lower(), {})
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query" and parameter["name"] in names:
                        _describe(parameter, names[parameter["name"]])
        app.openapi_schema = schema
    return app.openapi_schema


def _describe(parameter: dict[str, Any], name: str) -> None:
    value = VALUE_SCHEMAS.get(name)
    if value is None:
        return
    if parameter["schema"].get("type") == "array" or "array" in str(parameter["schema"]):
        # a list: comma-separated (the parameter may also be repeated)
        parameter["schema"] = {"type": "array", "items": value, "minItems": 1,
                               "maxItems": MAX_ITEMS[name]}
        parameter.update(style="form", explode=False)
    else:
        parameter["schema"] = value


def _routes(app: FastAPI) -> list[APIRoute]:
    found: list[APIRoute] = []
    pending = list(app.router.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
    return found

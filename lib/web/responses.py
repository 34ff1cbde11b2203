"""Responses: the JSON of a use case's Result with its caching headers, and the one error
shape every function answers with::

    {"error": {"code": "invalid_parameter", "message": "...", "parameter": "limit"}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from lib.app import Freshness, Result

__all__ = ["ERROR_RESPONSES", "NO_STORE", "CachePolicy", "error_response", "respond"]

NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """``Cache-Control`` for shared caches (Vercel's CDN); browsers always revalidate."""

    s_maxage: int
    stale_while_revalidate: int

    def header(self) -> str:
        return (f"public, max-age=0, s-maxage={self.s_maxage}, "
                f"stale-while-revalidate={self.stale_while_revalidate}")


# How long Vercel's CDN may keep an answer, by how fresh its data stays.
POLICIES: dict[Freshness, CachePolicy] = {
    "live": CachePolicy(s_maxage=5, stale_while_revalidate=25),
    "recent": CachePolicy(s_maxage=60, stale_while_revalidate=300),
    "past": CachePolicy(s_maxage=3600, stale_while_revalidate=86_400),
}


def respond(result: Result, *, headers: Mapping[str, str] | None = None) -> Response:
    """The JSON of ``result`` saying where its data came from and how long it may be cached."""
    policy = POLICIES[result.freshness] if result.freshness is not None else None
    extra = {"X-Data-Source": result.source,
             "Cache-Control": policy.header() if policy is not None else NO_STORE}
    extra.update(headers or {})
    return Response(orjson.dumps(result.payload), media_type="application/json", headers=extra)


def error_response(status: int, code: str, message: str, parameter: str | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The one error shape, never cached."""
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
    400: {"description": "Bad parameter, or a window too large to serve", **_ERROR_SCHEMA},
    414: {"description": "Query string too long", **_ERROR_SCHEMA},
    404: {"description": "Unknown server", **_ERROR_SCHEMA},
    422: {"description": "Contradictory parameters", **_ERROR_SCHEMA},
    503: {"description": "Store, cache or source unavailable", **_ERROR_SCHEMA},
}

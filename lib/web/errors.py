"""The project's errors as HTTP responses, in one place.

A use case names a bad parameter as it knows it (``server_id``, ``start``); the response
names it as the route's query does (``serverId``, ``from``), read from the route's own
parameter declarations. Outages answer with a stable code and the error class's public
message only: a driver's text can name hosts, ports, SQL or a password, so it goes to the
log, redacted.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from lib.core import (
    AuthError,
    ConfigError,
    FleetError,
    InvalidParameter,
    NotFound,
    RangeError,
    SourceUnavailable,
    StoreError,
    UnknownServer,
    WindowTooLarge,
    get_settings,
    redact,
    secrets_of,
)

from .middleware import allowed_methods
from .responses import error_response

__all__ = ["install_error_handlers", "query_names"]

logger = logging.getLogger(__name__)


def query_names(route: APIRoute) -> dict[str, str]:
    """The route's query parameters: the name its handler knows each by → the name sent."""
    names: dict[str, str] = {}
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update({field.name: field.alias for field in dependant.query_params})
        pending.extend(dependant.dependencies)
    return names


def _parameter(request: Request, name: str) -> str:
    route = request.scope.get("route")
    return query_names(route).get(name, name) if isinstance(route, APIRoute) else name


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
    """Translate the project's errors to HTTP."""
    if isinstance(exc, InvalidParameter):
        parameter = _parameter(request, exc.parameter)
        if isinstance(exc, UnknownServer):
            return error_response(404, "unknown_server", exc.detail, parameter)
        if isinstance(exc, NotFound):
            return error_response(404, "not_found", exc.detail, parameter)
        if isinstance(exc, WindowTooLarge):
            return error_response(400, "window_too_large", exc.detail, parameter)
        if isinstance(exc, RangeError):
            return error_response(422, "invalid_range", exc.detail, parameter)
        return error_response(400, "invalid_parameter", exc.detail, parameter)
    if isinstance(exc, AuthError):
        return error_response(401, "unauthorized", str(exc),
                              headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, StoreError):
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
    loc = list(first.get("loc", ()))
    location = [part for part in loc if part not in ("query", "body")]
    # a body field by its name; a body that is not JSON (loc: body, position) as "body"
    parameter = str(location[0]) if location and isinstance(location[0], str) else (
        "body" if loc[:1] == ["body"] else "request")
    if first.get("type") == "extra_forbidden" and loc[:1] == ["body"]:
        # a field the body may not have is named in the message, the body is the parameter
        return error_response(400, "invalid_parameter",
                              f"{'.'.join(map(str, location))}: not a field of this body",
                              "body")
    if first.get("type") == "missing":
        return error_response(400, "missing_parameter", f"{parameter} is required", parameter)
    message = str(first.get("msg", "invalid value"))
    return error_response(400, "invalid_parameter", f"{parameter}: {message}", parameter)


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


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers in the one JSON shape."""
    app.add_exception_handler(FleetError, _fleet_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

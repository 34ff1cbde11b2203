"""The project's own exception types.

Third-party failures (sqlite3, psycopg, PostgREST, httpx, Upstash) are caught at
the adapter boundary and re-raised as one of these with ``raise ... from exc``;
the HTTP layer translates them to JSON responses in one place (lib/web). A parameter is
named as the use cases know it (``server_id``, ``start``, ``end``…); the web layer maps those
names to each route's own query names (``serverId``, ``from``…).

    FleetError
    ├── ConfigError            a setting in the environment is missing or malformed
    ├── InvalidParameter       a caller passed a bad value (names the parameter)
    │   ├── RangeError         well-formed values that contradict each other or the clock
    │   ├── WindowTooLarge     a window more than the endpoint serves in a function's time
    │   ├── NotFound           an id that names nothing (an alert group, a silence)
    │   └── UnknownServer      a server id that is not in the fleet
    ├── AuthError              missing or wrong credentials
    ├── StoreError             the store failed
    │   └── StoreUnavailable   the store cannot be reached right now
    └── SourceUnavailable      a collector's source (Prometheus, custom API) is down
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "FleetError",
    "InvalidParameter",
    "NotFound",
    "RangeError",
    "SourceUnavailable",
    "StoreError",
    "StoreUnavailable",
    "UnknownServer",
    "WindowTooLarge",
]


class FleetError(Exception):
    """Base class of every error this project raises on purpose.

    ``public`` is what a response may say about an error of this kind; the exception's own
    message can carry internals (a driver's text, a host, a DSN) and goes only to the log,
    redacted (lib.redact).
    """

    public = "unexpected error"


class ConfigError(FleetError):
    """A setting is missing or malformed; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class InvalidParameter(FleetError):
    """A caller-supplied value is unacceptable; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.detail = message


class RangeError(InvalidParameter):
    """Well-formed values that contradict each other or the clock (an end before its start,
    an instant in the future, a window too large for its step)."""


class WindowTooLarge(InvalidParameter):
    """A window more than an endpoint can serve within a function's time (the analysis)."""


class NotFound(InvalidParameter):
    """An id that names nothing (an alert group, a silence)."""


class UnknownServer(InvalidParameter):
    """A server id that the source does not know (always the ``server_id`` parameter)."""

    def __init__(self, server_id: str) -> None:
        shown = server_id if len(server_id) <= 64 else server_id[:64] + "…"
        super().__init__("server_id", f"unknown server {shown!r}")
        self.server_id = server_id


class AuthError(FleetError):
    """Credentials are missing or wrong."""


class StoreError(FleetError):
    """The store rejected or failed an operation."""

    public = "the metrics store failed"


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused, timeout, auth to it failed)."""

    public = "the metrics store is unavailable"


class SourceUnavailable(FleetError):
    """A collector's upstream source cannot be reached or answered nonsense."""

    public = "the metrics source is unavailable"

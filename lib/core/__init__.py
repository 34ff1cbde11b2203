"""The kernel every layer builds on: settings, the error tree, plain records, time.

Imports nothing else of ours. ``lib.core.promnames`` (Prometheus metric names) is imported by
module, as a namespace.
"""

from __future__ import annotations

from .errors import (
    AuthError,
    ConfigError,
    FleetError,
    InvalidParameter,
    RangeError,
    SourceUnavailable,
    StoreError,
    StoreUnavailable,
    UnknownServer,
    WindowTooLarge,
)
from .models import (
    METRIC_COLUMNS,
    ROLES,
    ROLLUP_METRICS,
    ROLLUP_STATS,
    STATUSES,
    AffectedServer,
    Incident,
    MetricRow,
    Role,
    Rollup,
    ServerTemplate,
    Status,
    worst_status,
)
from .redact import dsn_passwords, redact, secrets_of
from .settings import DEFAULT_SEED, DEFAULT_TIMEZONE, Settings, get_settings
from .timeutil import (
    DAY,
    DEFAULT_STEP,
    MAX_INSTANT,
    MIN_INSTANT,
    MIN_STEP,
    check_instant,
    check_window,
    count_ticks,
    day_start,
    format_iso,
    is_time_zone,
    parse_date,
    parse_instant,
    to_datetime,
)
from .validation import http_url_problem, pick_servers

__all__ = [
    "DAY",
    "DEFAULT_SEED",
    "DEFAULT_STEP",
    "DEFAULT_TIMEZONE",
    "MAX_INSTANT",
    "METRIC_COLUMNS",
    "MIN_INSTANT",
    "MIN_STEP",
    "ROLES",
    "ROLLUP_METRICS",
    "ROLLUP_STATS",
    "STATUSES",
    "AffectedServer",
    "AuthError",
    "ConfigError",
    "FleetError",
    "Incident",
    "InvalidParameter",
    "MetricRow",
    "RangeError",
    "Role",
    "Rollup",
    "ServerTemplate",
    "Settings",
    "SourceUnavailable",
    "Status",
    "StoreError",
    "StoreUnavailable",
    "UnknownServer",
    "WindowTooLarge",
    "check_instant",
    "check_window",
    "count_ticks",
    "day_start",
    "dsn_passwords",
    "format_iso",
    "get_settings",
    "http_url_problem",
    "is_time_zone",
    "parse_date",
    "parse_instant",
    "pick_servers",
    "redact",
    "secrets_of",
    "to_datetime",
    "worst_status",
]

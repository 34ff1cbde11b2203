"""The use cases, one module per endpoint family, without HTTP: each takes backends and raw
parameter values and returns a Result (payload, data source, freshness).

    analysis     GET /api/analysis/incidents, /server, /servers (lib.analysis on our rows)
    metrics      GET /api/metrics/daily, GET /api/metrics/history
    live         GET /api/monitoring/servers
    performance  GET /api/monitoring/performance
    batch        /api/generate-batch
    status       GET /api/status
    pipeline     collect → store, for the batch and ``python -m lib generate``
    params       the values' contract (patterns, cursor codec) shared with the OpenAPI
"""

from __future__ import annotations

from .analysis import (
    ANALYSIS_HISTORY_DAYS,
    ANALYSIS_MAX_DAYS,
    analyzed_incidents,
    ground_truth,
    server_analysis,
    servers_analysis,
)
from .batch import MAX_BATCH_DAYS, authorize_cron, batch_window, generate_batch
from .live import refresh_latest, servers_snapshot
from .metrics import DAILY_DEFAULT_LIMIT, DAILY_MAX_LIMIT, RESOLUTIONS, daily_metrics, history
from .performance import (
    METRICS,
    PERFORMANCE_MAX_DAYS,
    PERFORMANCE_MAX_POINTS,
    performance,
)
from .pipeline import BatchResult, default_window, store_window
from .results import Freshness, Result, freshness_of
from .status import STATUS_BUDGET_SECONDS, status_report

__all__ = [
    "ANALYSIS_HISTORY_DAYS",
    "ANALYSIS_MAX_DAYS",
    "DAILY_DEFAULT_LIMIT",
    "DAILY_MAX_LIMIT",
    "MAX_BATCH_DAYS",
    "METRICS",
    "PERFORMANCE_MAX_DAYS",
    "PERFORMANCE_MAX_POINTS",
    "RESOLUTIONS",
    "STATUS_BUDGET_SECONDS",
    "BatchResult",
    "Freshness",
    "Result",
    "analyzed_incidents",
    "ground_truth",
    "authorize_cron",
    "batch_window",
    "daily_metrics",
    "default_window",
    "freshness_of",
    "generate_batch",
    "history",
    "performance",
    "refresh_latest",
    "server_analysis",
    "servers_analysis",
    "servers_snapshot",
    "status_report",
    "store_window",
]

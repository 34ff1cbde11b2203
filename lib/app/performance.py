"""One server's history: ``GET /api/monitoring/performance`` — stored rows where the store
covers the window at the step asked for, else the source."""

from __future__ import annotations

import logging

from lib.collectors import Collector
from lib.core import (
    DAY,
    MIN_INSTANT,
    InvalidParameter,
    MetricRow,
    RangeError,
    StoreError,
    count_ticks,
    format_iso,
)
from lib.sim import DEFAULT_STEP, tick_grid
from lib.store import MetricQuery, MetricStore

from .metrics import DAILY_MAX_LIMIT
from .params import check_order, echo, optional_instant, parse_server_id
from .results import Result, freshness_of
from .sources import check_servers

__all__ = ["METRICS", "PERFORMANCE_MAX_DAYS", "PERFORMANCE_MAX_POINTS", "performance"]

logger = logging.getLogger(__name__)

PERFORMANCE_MAX_POINTS = 2000
# The generator works out each day's incident schedule in a window, whatever the step: a
# quarter bounds a request's work; longer history is the hourly rollups' job.
PERFORMANCE_MAX_DAYS = 92
METRICS = ("cpu", "memory", "disk", "network", "response_time")


def performance(
    store: MetricStore, collector: Collector, now: int, *, server_id: str,
    start: str | None, end: str | None, metric: str | None, step: int | None,
) -> Result:
    """One server's history over [start, end) (default: the last hour) every ``step`` s.

    Every check is arithmetic on the parameters, done before any work: the number of points
    is counted, never built, so no request can ask for more than PERFORMANCE_MAX_POINTS.
    """
    parse_server_id(server_id, "server_id")
    if metric is not None and metric not in METRICS:
        raise InvalidParameter("metric", f"unknown metric {echo(metric)} ({', '.join(METRICS)})")
    lo, hi = optional_instant(start, "start"), optional_instant(end, "end")
    hi = hi if hi is not None else now
    # The default start never reaches before the supported range (1900-01-01T00:00:00Z).
    lo = lo if lo is not None else max(hi - 3600, MIN_INSTANT)
    step = step if step is not None else DEFAULT_STEP
    _check_window(lo, hi, step)
    check_servers([server_id], collector)
    rows = _from_store(store, server_id, lo, hi, step)
    source = "store"
    if rows is None:
        rows = collector.window(lo, hi, step, [server_id])
        source = collector.source
    return Result(
        {"serverId": server_id, "from": format_iso(lo), "to": format_iso(hi), "step": step,
         "metrics": [_point(r, metric) for r in rows]},
        source, freshness_of(hi, now),
    )


def _check_window(start: int, end: int, step: int) -> None:
    check_order(start, end)
    if end - start > PERFORMANCE_MAX_DAYS * DAY:
        raise RangeError("start", f"a window covers at most {PERFORMANCE_MAX_DAYS} days")
    points = count_ticks(start, end, step)
    if points > PERFORMANCE_MAX_POINTS:
        raise RangeError("step", f"the window holds {points} points at step {step}; at most "
                         f"{PERFORMANCE_MAX_POINTS} per response: raise step or narrow it")


def _point(row: MetricRow, metric: str | None) -> dict[str, object]:
    full: dict[str, object] = {
        "timestamp": format_iso(row.timestamp),
        "cpu": row.cpu,
        "memory": row.memory,
        "disk": row.disk,
        "network": {"rx": row.network_rx, "tx": row.network_tx},
        "responseTime": row.response_time,
    }
    if metric is None:
        return full
    name = "responseTime" if metric == "response_time" else metric
    return {"timestamp": full["timestamp"], name: full[name]}


def _from_store(store: MetricStore, server_id: str, start: int, end: int, step: int
                ) -> list[MetricRow] | None:
    """Stored rows when the store holds every tick of the window at this step, else None.

    Only where that costs at most DAILY_MAX_LIMIT stored rows: a coarse step over a long
    window would read every 10-minute row just to keep one in many.
    """
    if step % DEFAULT_STEP:
        return None
    wanted = tick_grid(start, end, step)
    if not len(wanted):
        return None
    stored = (int(wanted[-1]) - int(wanted[0])) // DEFAULT_STEP + 1
    if stored > DAILY_MAX_LIMIT:
        return None
    try:
        rows = store.query_metrics(MetricQuery(
            server_ids=(server_id,), start=int(wanted[0]), end=int(wanted[-1]) + 1,
            limit=stored,
        ))
    except StoreError as exc:
        logger.warning("store unavailable for performance, using the collector: %s",
                       exc.public)
        return None
    picked = [r for r in rows if r.timestamp % step == 0]
    if [r.timestamp for r in picked] != wanted.tolist():
        return None
    return picked

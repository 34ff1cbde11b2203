"""Stored history: ``GET /api/metrics/daily`` (rows, filtered and keyset-paged) and
``GET /api/metrics/history`` (hourly rollups, or days of them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lib.collectors import Collector
from lib.core import (
    DAY,
    MIN_INSTANT,
    STATUSES,
    InvalidParameter,
    RangeError,
    Rollup,
    SourceUnavailable,
    Status,
    day_start,
    format_iso,
)
from lib.store import MetricQuery, MetricStore

from .params import (
    MAX_SERVER_IDS,
    check_order,
    decode_cursor,
    echo,
    encode_cursor,
    optional_instant,
    parse_server_id,
    split_values,
)
from .results import Result, freshness_of
from .rollups import daily_rollups
from .sources import check_servers

__all__ = ["DAILY_DEFAULT_LIMIT", "DAILY_MAX_LIMIT", "RESOLUTIONS", "daily_metrics", "history"]

logger = logging.getLogger(__name__)

DAILY_DEFAULT_LIMIT = 1000
DAILY_MAX_LIMIT = 5000


def daily_metrics(
    store: MetricStore, collector: Collector, now: int, *, server_id: Sequence[str] | None,
    start: str | None, end: str | None, status: Sequence[str] | None, limit: int,
    cursor: str | None,
) -> Result:
    """Stored rows, filtered and keyset-paged, ordered by timestamp then server id."""
    lo, hi = optional_instant(start, "start"), optional_instant(end, "end")
    check_order(lo, hi)
    ids = [parse_server_id(sid, "server_id")
           for sid in split_values(server_id, "server_id", MAX_SERVER_IDS)]
    if ids:
        try:
            check_servers(ids, collector)
        except SourceUnavailable as exc:
            # Stored history does not need the live source; unknown ids just match nothing.
            logger.warning("source down; server ids not checked: %s", exc.public)
    query = MetricQuery(
        server_ids=tuple(ids) or None, start=lo, end=hi, statuses=_statuses(status),
        limit=limit + 1, after=decode_cursor(cursor) if cursor is not None else None,
    )
    rows = store.query_metrics(query)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more and page else None
    return Result(
        {"data": [r.as_dict() for r in page], "count": len(page),
         "next_cursor": encode_cursor(last.timestamp, last.server_id) if last else None},
        "store", freshness_of(hi, now),
    )


def _statuses(values: Sequence[str] | None) -> tuple[Status, ...] | None:
    """The statuses asked for, in the table's order; None when none are."""
    asked = split_values(values, "status", len(STATUSES))
    for value in asked:
        if value not in STATUSES:
            raise InvalidParameter("status", f"unknown status {echo(value)} (healthy, warning, "
                                   "critical)")
    return tuple(s for s in STATUSES if s in asked) or None


# --- GET /api/metrics/history ------------------------------------------------------------

RESOLUTIONS = ("1h", "1d")
# The default window: a week of hours, or a quarter of days.
HISTORY_DEFAULT_SECONDS = {"1h": 7 * DAY, "1d": 92 * DAY}


def history(
    store: MetricStore, collector: Collector, now: int, *, server_id: str,
    start: str | None, end: str | None, resolution: str, limit: int, cursor: str | None,
) -> Result:
    """A server's hourly rollups (``1h``) or days rolled up from them (``1d``), keyset-paged.

    Rollups outlive the raw rows: they are kept HISTORY_RETENTION_DAYS.
    """
    parse_server_id(server_id, "server_id")
    if resolution not in RESOLUTIONS:
        raise InvalidParameter("resolution", f"unknown resolution {echo(resolution)} (1h, 1d)")
    lo, hi = optional_instant(start, "start"), optional_instant(end, "end")
    hi = hi if hi is not None else now
    lo = lo if lo is not None else max(hi - HISTORY_DEFAULT_SECONDS[resolution], MIN_INSTANT)
    check_order(lo, hi)
    after = _history_cursor(cursor, server_id)
    try:
        check_servers([server_id], collector)
    except SourceUnavailable as exc:
        logger.warning("source down; server id not checked: %s", exc.public)
    if resolution == "1h":
        periods = store.query_history(server_id, lo, hi, limit + 1, after)
    else:
        hours = _all_hours(store, server_id, day_start(lo), hi)
        periods = [d for d in daily_rollups(hours) if d.start >= lo - lo % DAY
                   and (after is None or d.start > after)][:limit + 1]
    page, more = periods[:limit], len(periods) > limit
    return Result(
        {"serverId": server_id, "resolution": resolution, "from": format_iso(lo),
         "to": format_iso(hi), "data": [p.as_dict() for p in page], "count": len(page),
         "next_cursor": encode_cursor(page[-1].start, server_id) if more and page else None},
        "store", freshness_of(hi, now),
    )


def _history_cursor(cursor: str | None, server_id: str) -> int | None:
    if cursor is None:
        return None
    position, server = decode_cursor(cursor)
    if server != server_id:
        raise RangeError("cursor", "a cursor of another server's history")
    return position


def _all_hours(store: MetricStore, server_id: str, start: int, end: int) -> list[Rollup]:
    """Every hourly rollup of [start, end), read a page at a time."""
    hours: list[Rollup] = []
    after: int | None = None
    while True:
        page = store.query_history(server_id, start, end, DAILY_MAX_LIMIT, after)
        hours.extend(page)
        if len(page) < DAILY_MAX_LIMIT:
            return hours
        after = page[-1].start

"""Stored history: ``GET /api/metrics/daily`` — rows filtered and keyset-paged."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lib.collectors import Collector
from lib.core import STATUSES, InvalidParameter, SourceUnavailable, Status
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
from .sources import check_servers

__all__ = ["DAILY_DEFAULT_LIMIT", "DAILY_MAX_LIMIT", "daily_metrics"]

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

"""GET /api/metrics/* — stored history: ``/api/metrics/daily`` (rows, filtered and paged) and
``/api/metrics/history`` (hourly rollups, kept long after the rows).

One Vercel function for the family; vercel.json rewrites ``/api/metrics/:route`` here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.app import DAILY_DEFAULT_LIMIT, DAILY_MAX_LIMIT, daily_metrics, history
from lib.web import ERROR_RESPONSES, CollectorDep, NowDep, StoreDep, create_app, respond

FAMILY = "/api/metrics"
router = APIRouter()


@router.get("/api/metrics/daily", responses=ERROR_RESPONSES, tags=["metrics"])
def get_daily_metrics(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[list[str] | None, Query(description=(
        "server ids, comma-separated (at most 100); the parameter may also be repeated"))
                         ] = None,
    start: Annotated[str | None, Query(alias="start_time", description=(
        "window start, inclusive: an RFC 3339 date-time or a date"))] = None,
    end: Annotated[str | None, Query(alias="end_time", description="window end, exclusive")
                   ] = None,
    status: Annotated[list[str] | None, Query(description=(
        "statuses, comma-separated (at most 3); may also be repeated"))] = None,
    limit: Annotated[int, Query(ge=1, le=DAILY_MAX_LIMIT,
                                description=f"rows per page (max {DAILY_MAX_LIMIT})")
                     ] = DAILY_DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description=(
        "next_cursor of the previous page: rows after this position"))] = None,
) -> Response:
    """Stored metric rows ordered by timestamp then server id, with keyset paging."""
    return respond(daily_metrics(store, collector, now, server_id=server_id, start=start,
                                 end=end, status=status, limit=limit, cursor=cursor))


@router.get("/api/metrics/history", responses=ERROR_RESPONSES, tags=["metrics"])
def get_history(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[str, Query(alias="serverId", description="the server")],
    start: Annotated[str | None, Query(alias="from", description=(
        "window start (default: to − 7 days for 1h, − 92 days for 1d)"))] = None,
    end: Annotated[str | None, Query(alias="to", description="window end (default: now)")
                   ] = None,
    resolution: Annotated[str, Query(description="1h: hourly rollups; 1d: days of them")
                          ] = "1h",
    limit: Annotated[int, Query(ge=1, le=DAILY_MAX_LIMIT,
                                description=f"periods per page (max {DAILY_MAX_LIMIT})")
                     ] = DAILY_DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description=(
        "next_cursor of the previous page: periods after this position"))] = None,
) -> Response:
    """A server's history as rollups: min, mean, max and p95 of each metric, worst status."""
    return respond(history(store, collector, now, server_id=server_id, start=start, end=end,
                           resolution=resolution, limit=limit, cursor=cursor))


app = create_app(router, title="GET /api/metrics/*", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

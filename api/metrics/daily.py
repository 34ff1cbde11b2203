"""GET /api/metrics/daily — stored rows, filtered and paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.deps import CollectorDep, NowDep, StoreDep
from lib.http import ERROR_RESPONSES, create_app, json_response
from lib.service import DAILY_DEFAULT_LIMIT, DAILY_MAX_LIMIT, daily_metrics

router = APIRouter()


@router.get("/api/metrics/daily", responses=ERROR_RESPONSES, tags=["metrics"])
def get_daily_metrics(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[list[str] | None, Query(
        description="server id; repeat or comma-separate for several")] = None,
    start_time: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
    end_time: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    status: Annotated[list[str] | None, Query(
        description="healthy | warning | critical; repeat or comma-separate")] = None,
    limit: Annotated[int, Query(ge=1, le=DAILY_MAX_LIMIT,
                                description=f"rows per page (max {DAILY_MAX_LIMIT})")
                     ] = DAILY_DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Stored metric rows ordered by timestamp then server id, with keyset paging."""
    result = daily_metrics(store, collector, now, server_id=server_id, start_time=start_time,
                           end_time=end_time, status=status, limit=limit, cursor=cursor)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/metrics/daily")
lambda_handler = Mangum(app, lifespan="off")

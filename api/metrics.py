"""GET /api/metrics/* — stored history: ``/api/metrics/daily`` (rows, filtered and paged).

One Vercel function for the family; vercel.json rewrites ``/api/metrics/:route`` here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.deps import CollectorDep, NowDep, StoreDep
from lib.http import ERROR_RESPONSES, create_app, json_response
from lib.service import DAILY_DEFAULT_LIMIT, DAILY_MAX_LIMIT, daily_metrics

FAMILY = "/api/metrics"
router = APIRouter()


@router.get("/api/metrics/daily", responses=ERROR_RESPONSES, tags=["metrics"])
def get_daily_metrics(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[list[str] | None, Query()] = None,
    start_time: Annotated[str | None, Query()] = None,
    end_time: Annotated[str | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=DAILY_MAX_LIMIT,
                                description=f"rows per page (max {DAILY_MAX_LIMIT})")
                     ] = DAILY_DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    """Stored metric rows ordered by timestamp then server id, with keyset paging."""
    result = daily_metrics(store, collector, now, server_id=server_id, start_time=start_time,
                           end_time=end_time, status=status, limit=limit, cursor=cursor)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/metrics/*", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

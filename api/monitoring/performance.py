"""GET /api/monitoring/performance — one server's metric history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.deps import CollectorDep, NowDep, StoreDep
from lib.generator import MIN_STEP
from lib.http import ERROR_RESPONSES, create_app, json_response
from lib.service import PERFORMANCE_MAX_POINTS, performance

router = APIRouter()


@router.get("/api/monitoring/performance", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_performance(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[str, Query(alias="serverId", description="the server")],
    start: Annotated[str | None, Query(alias="from", description="ISO 8601 (default: to − 1 h)")
                     ] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601 (default: now)")] = None,
    metric: Annotated[str | None, Query(
        description="cpu | memory | disk | network | response_time")] = None,
    step: Annotated[int | None, Query(ge=MIN_STEP, le=86_400, description=(
        f"seconds between points (default 600; at most {PERFORMANCE_MAX_POINTS} points)"))
                    ] = None,
) -> Response:
    """A server's metrics over a window: stored rows where they cover it, else the source."""
    result = performance(store, collector, now, server_id=server_id, start_time=start,
                         end_time=end, metric=metric, step=step)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/monitoring/performance")
lambda_handler = Mangum(app, lifespan="off")

"""GET /api/monitoring/* — the live view (``servers``) and one server's history
(``performance``).

One Vercel function for the family; vercel.json rewrites ``/api/monitoring/:route`` here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.deps import CacheDep, CollectorDep, NowDep, SettingsDep, StoreDep
from lib.generator import MIN_STEP
from lib.http import ERROR_RESPONSES, create_app, json_response
from lib.service import PERFORMANCE_MAX_POINTS, performance, servers_snapshot

FAMILY = "/api/monitoring"
router = APIRouter()


@router.get("/api/monitoring/servers", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_servers(
    collector: CollectorDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
    server_id: Annotated[str | None, Query(alias="serverId")] = None,
    at: Annotated[str | None, Query()] = None,
) -> Response:
    """Live snapshot of every server (or one), read through the cache."""
    result = servers_snapshot(collector, cache, settings, now, at=at, server_id=server_id)
    return json_response(result.payload, source=result.source, cache=result.cache)


@router.get("/api/monitoring/performance", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_performance(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[str, Query(alias="serverId")],
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    metric: Annotated[str | None, Query()] = None,
    step: Annotated[int | None, Query(ge=MIN_STEP, le=86_400, description=(
        f"seconds between points (default 600; at most {PERFORMANCE_MAX_POINTS} points)"))
                    ] = None,
) -> Response:
    """A server's metrics over a window: stored rows where they cover it, else the source."""
    result = performance(store, collector, now, server_id=server_id, start_time=start,
                         end_time=end, metric=metric, step=step)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/monitoring/*", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

"""GET /api/monitoring/* — the live view (``servers``) and one server's history
(``performance``).

One Vercel function for the family; vercel.json rewrites ``/api/monitoring/:route`` here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response
from mangum import Mangum

from lib.app import PERFORMANCE_MAX_DAYS, PERFORMANCE_MAX_POINTS, performance, servers_snapshot
from lib.app.alerts import evaluate_on_poll
from lib.core import MIN_STEP
from lib.web import (
    ERROR_RESPONSES,
    CacheDep,
    CollectorDep,
    HotCacheDep,
    NowDep,
    RulesDep,
    SendersDep,
    SettingsDep,
    StoreDep,
    create_app,
    respond,
)

FAMILY = "/api/monitoring"
router = APIRouter()


@router.get("/api/monitoring/servers", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_servers(
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
    store: StoreDep,
    rules: RulesDep,
    senders: SendersDep,
    background: BackgroundTasks,
    server_id: Annotated[str | None, Query(alias="serverId", description="one server")] = None,
    at: Annotated[str | None, Query(description="an instant, not in the future (default: now)")
                  ] = None,
) -> Response:
    """Live snapshot of every server (or one), read through the cache."""
    response = respond(servers_snapshot(collector, hot, cache, settings, now, at=at,
                                        server_id=server_id))
    if settings.alerts_on_poll and at is None:
        # after the answer: this minute's alert evaluation, if nobody has run it yet
        background.add_task(evaluate_on_poll, store, collector, hot, cache, now, rules,
                            senders)
    return response


@router.get("/api/monitoring/performance", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_performance(
    store: StoreDep,
    collector: CollectorDep,
    now: NowDep,
    server_id: Annotated[str, Query(alias="serverId", description="the server")],
    start: Annotated[str | None, Query(alias="from", description="window start "
                                       "(default: to − 1 h)")] = None,
    end: Annotated[str | None, Query(alias="to", description="window end (default: now)")
                   ] = None,
    metric: Annotated[str | None, Query(description="only this metric")] = None,
    step: Annotated[int | None, Query(ge=MIN_STEP, le=86_400, description=(
        f"seconds between points (default 600; at most {PERFORMANCE_MAX_POINTS} points and "
        f"{PERFORMANCE_MAX_DAYS} days)"))] = None,
) -> Response:
    """A server's metrics over a window: stored rows where they cover it, else the source."""
    return respond(performance(store, collector, now, server_id=server_id, start=start,
                               end=end, metric=metric, step=step))


app = create_app(router, title="GET /api/monitoring/*", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

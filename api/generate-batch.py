"""GET|POST /api/generate-batch — the daily cron: collect, store, prune, re-cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.app import authorize_cron, generate_batch
from lib.web import (
    ERROR_RESPONSES,
    CacheDep,
    CollectorDep,
    CronTokenDep,
    HotCacheDep,
    LocalDep,
    NowDep,
    SettingsDep,
    StoreDep,
    create_app,
    respond,
)

router = APIRouter()


def run_generate_batch(
    store: StoreDep,
    hot: HotCacheDep,
    cache: CacheDep,
    collector: CollectorDep,
    settings: SettingsDep,
    now: NowDep,
    token: CronTokenDep,
    local: LocalDep,
    date: Annotated[str | None, Query(description="a UTC day, YYYY-MM-DD")] = None,
    start: Annotated[str | None, Query(description="window start (with end)")] = None,
    end: Annotated[str | None, Query(description="window end, exclusive (with start)")
                   ] = None,
) -> Response:
    """Write a window (default: yesterday and today so far) to the store; needs CRON_SECRET."""
    authorize_cron(settings, token, local=local)
    return respond(generate_batch(store, hot, cache, collector, settings, now, date=date,
                                  start=start, end=end))


# GET is what Vercel's cron sends; POST is for people. Same handler, distinct operation ids.
for method in ("GET", "POST"):
    router.add_api_route(
        "/api/generate-batch", run_generate_batch, methods=[method], tags=["batch"],
        operation_id=f"generate_batch_{method.lower()}",
        responses={**ERROR_RESPONSES, 401: {**ERROR_RESPONSES[400], "description": "Bad token"}},
    )

app = create_app(router, title="/api/generate-batch")
lambda_handler = Mangum(app, lifespan="off")

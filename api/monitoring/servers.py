"""GET /api/monitoring/servers — every server's live snapshot and a status summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.deps import CacheDep, CollectorDep, NowDep, SettingsDep
from lib.http import ERROR_RESPONSES, create_app, json_response
from lib.service import servers_snapshot

router = APIRouter()


@router.get("/api/monitoring/servers", responses=ERROR_RESPONSES, tags=["monitoring"])
def get_servers(
    collector: CollectorDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
    server_id: Annotated[str | None, Query(alias="serverId", description="one server")] = None,
    at: Annotated[str | None, Query(description="ISO 8601 instant (default: now)")] = None,
) -> Response:
    """Live snapshot of every server (or one), read through the cache."""
    result = servers_snapshot(collector, cache, settings, now, at=at, server_id=server_id)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/monitoring/servers")
lambda_handler = Mangum(app, lifespan="off")

"""GET /api/status — collector mode, store and cache backends, and whether each answers."""

from __future__ import annotations

from fastapi import APIRouter, Response
from mangum import Mangum

from lib.deps import CacheDep, CollectorDep, SettingsDep, StoreDep
from lib.http import create_app, json_response
from lib.service import status_report

router = APIRouter()


@router.get("/api/status", tags=["status"])
def get_status(
    store: StoreDep, cache: CacheDep, collector: CollectorDep, settings: SettingsDep
) -> Response:
    """Health of every tier; always 200, with each failure described."""
    result = status_report(store, cache, collector, settings)
    return json_response(result.payload, source=result.source, cache=result.cache)


app = create_app(router, title="GET /api/status")
lambda_handler = Mangum(app, lifespan="off")

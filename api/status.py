"""GET /api/status — collector mode, store and cache backends, and whether each answers."""

from __future__ import annotations

from fastapi import APIRouter, Response
from mangum import Mangum

from lib.app import status_report
from lib.web import CacheDep, CollectorDep, SettingsDep, StoreDep, create_app, respond

router = APIRouter()


@router.get("/api/status", tags=["status"])
def get_status(
    store: StoreDep, cache: CacheDep, collector: CollectorDep, settings: SettingsDep
) -> Response:
    """Health of every tier; always 200, with each failure described."""
    return respond(status_report(store, cache, collector, settings))


app = create_app(router, title="GET /api/status")
lambda_handler = Mangum(app, lifespan="off")

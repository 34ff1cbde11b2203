"""GET /api/prometheus — the simulated fleet in Prometheus text format, for scraping."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.app.scrape import CONTENT_TYPE, scrape
from lib.web import ERROR_RESPONSES, SettingsDep, create_app

router = APIRouter()


@router.get(
    "/api/prometheus",
    responses={**ERROR_RESPONSES,
               200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    response_class=Response,
    tags=["prometheus"],
)
def get_prometheus(
    settings: SettingsDep,
    at: Annotated[str | None, Query(description="an instant (default: now)")] = None,
) -> Response:
    """Every simulated server at one instant, with node_exporter's metric names."""
    body = scrape(settings, at)
    # Never cached: a repeated scrape must see its counters move on.
    return Response(body, media_type=CONTENT_TYPE,
                    headers={"Cache-Control": "no-store", "X-Data-Source": "generator"})


app = create_app(router, title="GET /api/prometheus")
lambda_handler = Mangum(app, lifespan="off")

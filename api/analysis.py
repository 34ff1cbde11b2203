"""GET /api/analysis/* — incidents detected in a window (``incidents``), and health, current
anomalies and forecasts at an instant (``server`` for one, ``servers`` for the fleet); the
simulator's ground truth beside them (``truth``).

One Vercel function for the family; vercel.json rewrites ``/api/analysis/:route`` here.
The analysis is lib.analysis; docs/analysis.md defines what it reports.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.app import (
    ANALYSIS_HISTORY_DAYS,
    ANALYSIS_MAX_DAYS,
    analyzed_incidents,
    ground_truth,
    server_analysis,
    servers_analysis,
)
from lib.web import (
    ERROR_RESPONSES,
    CacheDep,
    CollectorDep,
    HotCacheDep,
    NowDep,
    SettingsDep,
    StoreDep,
    create_app,
    respond,
)

FAMILY = "/api/analysis"
router = APIRouter()

FromQuery = Annotated[str | None, Query(alias="from", description="window start (default: "
                                        "to − 1 day)")]
ToQuery = Annotated[str | None, Query(alias="to", description="window end, not in the future "
                                      "(default: now)")]
AtQuery = Annotated[str | None, Query(description="an instant, not in the future (default: "
                                      "now); the analysis reads the 10-minute tick at or "
                                      "before it")]


INCIDENTS_DESCRIPTION = (
    f"Incidents that start in [from, to), detected in the 10-minute rows with "
    f"{ANALYSIS_HISTORY_DAYS} days of history before the window: each with its start, end, "
    "ranked origin candidates, pattern, confidence, affected servers with their onsets and "
    f"the evidence. A window covers at most {ANALYSIS_MAX_DAYS} days (400 "
    "`window_too_large` beyond)."
)


@router.get("/api/analysis/incidents", responses=ERROR_RESPONSES, tags=["analysis"],
            description=INCIDENTS_DESCRIPTION)
def get_incidents(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    now: NowDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    """Incidents detected in a window."""
    return respond(analyzed_incidents(store, collector, hot, cache, now, start=start,
                                      end=end))


@router.get("/api/analysis/server", responses=ERROR_RESPONSES, tags=["analysis"])
def get_server(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    now: NowDep,
    server_id: Annotated[str, Query(alias="serverId", description="the server")],
    at: AtQuery = None,
) -> Response:
    """One server's health score (0–100), current anomalies with their baselines, and the
    forecast of its disk and memory reaching warning and critical."""
    return respond(server_analysis(store, collector, hot, cache, now, server_id=server_id,
                                   at=at))


@router.get("/api/analysis/servers", responses=ERROR_RESPONSES, tags=["analysis"])
def get_servers(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    now: NowDep,
    at: AtQuery = None,
) -> Response:
    """Every server's health, current anomalies and forecast (as ``server``), by id."""
    return respond(servers_analysis(store, collector, hot, cache, now, at=at))


@router.get("/api/analysis/truth", responses=ERROR_RESPONSES, tags=["analysis"])
def get_truth(
    collector: CollectorDep,
    settings: SettingsDep,
    now: NowDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    """The simulator's ground truth: the incidents it injected that overlap [from, to), at
    most 7 days — for people training detectors (the analysis never reads it). 404 for a
    real source."""
    return respond(ground_truth(collector, settings, now, start=start, end=end))


app = create_app(router, title="GET /api/analysis/*", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

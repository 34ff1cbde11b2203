"""GET /api/ask — a plain-language question about the fleet, in Korean or English, answered
with the numbers of the other endpoints at the same instant (docs/assistant.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from mangum import Mangum

from lib.app.assistant import answer_question
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

router = APIRouter()


@router.get("/api/ask", responses=ERROR_RESPONSES, tags=["assistant"])
def get_ask(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
    q: Annotated[str, Query(description="the question, e.g. 'is db-01 ok?' or "
                            "'db-01 상태 어때?' (at most 500 characters)")],
    at: Annotated[str | None, Query(description="answer as of this instant, not in the "
                                    "future (default: now)")] = None,
) -> Response:
    """`{question, language, intent, entities, answer, facts, at}`: the intent
    (server_health, server_why, what_happened, at_risk, fleet_summary, top_consumers,
    unknown_server, help), its entities, one to three sentences in the question's language,
    and the data behind every number."""
    return respond(answer_question(store, collector, hot, cache, settings, now, q=q, at=at))


app = create_app(router, title="GET /api/ask")
lambda_handler = Mangum(app, lifespan="off")

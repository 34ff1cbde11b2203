"""GET /api/alerts and /api/alerts/* — alert states and groups, their history, evaluation,
silences and acknowledgement (docs/alerts.md).

One Vercel function for the family; vercel.json rewrites ``/api/alerts/:route`` here. Writes
need ``Authorization: Bearer $ALERTS_TOKEN``.
"""

# No postponed annotations here: FastAPI resolves the body models from this module's
# globals, which a function loaded by path does not publish in sys.modules.
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, Field

from lib.app.alerts import (
    LABEL_PATTERN,
    acknowledge,
    alert_history,
    authorize_alerts,
    create_silence,
    evaluate,
    expire_silence,
    list_alerts,
    list_silences,
)
from lib.app.params import DATE_TIME_PATTERN
from lib.web import (
    ERROR_RESPONSES,
    AlertTokenDep,
    CacheDep,
    CollectorDep,
    HotCacheDep,
    LocalDep,
    NowDep,
    RulesDep,
    SendersDep,
    SettingsDep,
    StoreDep,
    create_app,
    respond,
)

FAMILY = "/api/alerts"
router = APIRouter()
WRITE_RESPONSES = {**ERROR_RESPONSES, 401: {"description": "Missing or wrong bearer token"}}

ServerQuery = Annotated[str | None, Query(alias="serverId", description="one server")]
SeverityQuery = Annotated[str | None, Query(description="warning or critical")]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="at most this many (1–500)")]
CursorQuery = Annotated[str | None, Query(alias="cursor",
                                          description="next_cursor of the previous page")]


NOT_BLANK = r"\S"


class MatcherBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=LABEL_PATTERN,
                      description="a label name (alertname, server_id, severity, …)")
    value: str = Field(max_length=200)
    is_regex: bool = Field(False, alias="isRegex")
    is_equal: bool = Field(True, alias="isEqual")


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherBody] = Field(min_length=1, max_length=20)
    starts_at: str | None = Field(None, pattern=DATE_TIME_PATTERN, description="default: now")
    ends_at: str = Field(pattern=DATE_TIME_PATTERN, description="after starts_at and now")
    created_by: str = Field(max_length=100, pattern=NOT_BLANK)
    comment: str = Field(max_length=500, pattern=NOT_BLANK)


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_key: str = Field(min_length=1, max_length=100)
    by: str = Field(max_length=100, pattern=NOT_BLANK)
    comment: str | None = Field(None, max_length=500)


@router.get("/api/alerts", responses=ERROR_RESPONSES, tags=["alerts"])
def get_alerts(
    store: StoreDep,
    state: Annotated[list[str] | None, Query(description="pending, firing, resolved "
                                             "(repeat or comma-separate)")] = None,
    server_id: ServerQuery = None,
    severity: SeverityQuery = None,
    limit: LimitQuery = 100,
    alert_cursor: CursorQuery = None,
) -> Response:
    """Alert groups and alerts: firing, pending, and resolved in the last hour."""
    return respond(list_alerts(store, state=state, server_id=server_id, severity=severity,
                               limit=limit, cursor=alert_cursor))


@router.get("/api/alerts/history", responses=ERROR_RESPONSES, tags=["alerts"])
def get_history(
    store: StoreDep,
    server_id: ServerQuery = None,
    severity: SeverityQuery = None,
    limit: LimitQuery = 100,
    alert_cursor: CursorQuery = None,
) -> Response:
    """Every alert state change, newest first."""
    return respond(alert_history(store, server_id=server_id, severity=severity, limit=limit,
                                 cursor=alert_cursor))


@router.post("/api/alerts/evaluate", responses=WRITE_RESPONSES, tags=["alerts"])
def post_evaluate(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
    rules: RulesDep,
    senders: SendersDep,
    token: AlertTokenDep,
    local: LocalDep,
) -> Response:
    """Evaluate the current minute (once across instances) and deliver what is due."""
    authorize_alerts(settings, token, local=local)
    return respond(evaluate(store, collector, hot, cache, now, rules, senders))


@router.get("/api/alerts/silences", responses=ERROR_RESPONSES, tags=["alerts"])
def get_silences(store: StoreDep, now: NowDep) -> Response:
    """Every silence, newest first, with its status (pending, active, expired)."""
    return respond(list_silences(store, now))


@router.post("/api/alerts/silences", status_code=201, responses=WRITE_RESPONSES,
             tags=["alerts"])
def post_silence(
    store: StoreDep,
    settings: SettingsDep,
    now: NowDep,
    token: AlertTokenDep,
    local: LocalDep,
    body: Annotated[SilenceBody, Body()],
) -> Response:
    """Silence the alerts whose labels match every matcher, from starts_at to ends_at."""
    authorize_alerts(settings, token, local=local)
    result = create_silence(
        store, now, matchers=[m.model_dump(by_alias=True) for m in body.matchers],
        starts_at=body.starts_at, ends_at=body.ends_at, created_by=body.created_by,
        comment=body.comment)
    response = respond(result)
    response.status_code = 201
    return response


@router.delete("/api/alerts/silences", responses=WRITE_RESPONSES, tags=["alerts"])
def delete_silence(
    store: StoreDep,
    settings: SettingsDep,
    now: NowDep,
    token: AlertTokenDep,
    local: LocalDep,
    silence_id: Annotated[str, Query(alias="id", max_length=40, description="the silence")],
) -> Response:
    """End a silence now."""
    authorize_alerts(settings, token, local=local)
    return respond(expire_silence(store, now, silence_id=silence_id))


@router.post("/api/alerts/ack", responses=WRITE_RESPONSES, tags=["alerts"])
def post_ack(
    store: StoreDep,
    settings: SettingsDep,
    now: NowDep,
    token: AlertTokenDep,
    local: LocalDep,
    body: Annotated[AckBody, Body()],
) -> Response:
    """Acknowledge a firing group: its repeats stop until it escalates."""
    authorize_alerts(settings, token, local=local)
    return respond(acknowledge(store, now, group_key=body.group_key, by=body.by,
                               comment=body.comment))


app = create_app(router, title="/api/alerts", families=[FAMILY])
lambda_handler = Mangum(app, lifespan="off")

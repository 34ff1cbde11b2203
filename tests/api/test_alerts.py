"""/api/alerts*: evaluation once per minute tick, the state it keeps, reads with filters and
paging, silences and acknowledgement, authorisation, and the stable error shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lib.app.alerts import EVAL_STEP
from lib.cache import MemoryCache
from lib.core import format_iso, parse_instant
from lib.store.postgres import PostgresStore
from lib.web import deps
from tests.apiclient import NOW, Api, eager_rules
from tests.services.processes import free_port

TOKEN = "alerts-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def alerts(api: Api) -> Api:
    """The API with an alerts token, no channels, and a clock the test can move."""
    api.use(settings=api.settings.model_copy(update={"alerts_token": TOKEN}))
    api.app.dependency_overrides[deps.provide_senders] = lambda: []
    api.app.dependency_overrides[deps.provide_rules] = eager_rules
    return api


def at(api: Api, instant: int) -> None:
    api.app.dependency_overrides[deps.provide_now] = lambda: instant


def evaluate(api: Api) -> dict[str, Any]:
    response = api.client.post("/api/alerts/evaluate", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()  # type: ignore[no-any-return]


def run_minutes(api: Api, start: int, minutes: int) -> list[dict[str, Any]]:
    out = []
    for k in range(minutes):
        at(api, start + k * EVAL_STEP + 7)
        out.append(evaluate(api))
    return out


def test_one_evaluation_per_minute_tick(alerts: Api) -> None:
    first = evaluate(alerts)
    assert first["tick"] == format_iso(NOW - NOW % 60)
    assert first["evaluated"] is True
    again = evaluate(alerts)                       # the same minute: the lock holds
    assert again["evaluated"] is False
    alerts.use(cache=MemoryCache())               # even with the lock gone, the state knows
    assert evaluate(alerts)["evaluated"] is False
    at(alerts, NOW + 60)
    assert evaluate(alerts)["evaluated"] is True
    body = alerts.client.get("/api/alerts").json()
    assert body["evaluated_at"] == format_iso(NOW + 60 - (NOW + 60) % 60)


def test_alerts_follow_the_rules_and_the_values(alerts: Api) -> None:
    start = NOW - NOW % 60 - 20 * 60
    run_minutes(alerts, start, 20)
    body = alerts.client.get("/api/alerts?limit=500").json()
    assert body["count"] == len(body["alerts"]) > 0
    snapshot = {s["id"]: s for s in alerts.client.get("/api/monitoring/servers").json()
                ["servers"]}
    for alert in body["alerts"]:
        labels = alert["labels"]
        assert set(labels) == {"alertname", "server_id", "role", "metric", "severity", "rule"}
        assert labels["server_id"] in snapshot
        assert alert["state"] in ("pending", "firing", "resolved")
        if labels["rule"] == "threshold" and alert["state"] == "firing":
            # a firing threshold alert's value is at or above its recovery level
            assert alert["value"] >= alert["threshold"] - 5.0 - 1e-9 or \
                labels["metric"] == "response_time"
    starts = [a["starts_at"] for a in body["alerts"]]
    assert starts == sorted(starts, reverse=True)


def test_reads_filter_and_page(alerts: Api) -> None:
    run_minutes(alerts, NOW - NOW % 60 - 10 * 60, 10)
    every = alerts.client.get("/api/alerts?limit=500").json()["alerts"]
    assert len(every) >= 3
    pages, cursor = [], None
    while True:
        url = "/api/alerts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = alerts.client.get(url).json()
        pages += body["alerts"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [a["fingerprint"] for a in pages] == [a["fingerprint"] for a in every]
    server = every[0]["labels"]["server_id"]
    mine = alerts.client.get(f"/api/alerts?serverId={server}&limit=500").json()["alerts"]
    assert mine == [a for a in every if a["labels"]["server_id"] == server]
    firing = alerts.client.get("/api/alerts?state=firing&severity=critical&limit=500").json()
    assert firing["alerts"] == [a for a in every if a["state"] == "firing"
                                and a["labels"]["severity"] == "critical"]
    history = alerts.client.get("/api/alerts/history?limit=500").json()["data"]
    assert {(h["fingerprint"], h["to"]) for h in history} >= {
        (a["fingerprint"], a["state"]) for a in every}
    assert [h["at"] for h in history] == sorted((h["at"] for h in history), reverse=True)


def test_silences_are_created_listed_and_expired(alerts: Api) -> None:
    ends = format_iso(NOW + 3600)
    body = {"matchers": [{"name": "server_id", "value": "db-0[12]", "isRegex": True},
                         {"name": "severity", "value": "warning", "isEqual": False}],
            "ends_at": ends, "created_by": "kim", "comment": "disk swap"}
    unauthorised = alerts.client.post("/api/alerts/silences", json=body)
    assert unauthorised.status_code == 401
    created = alerts.client.post("/api/alerts/silences", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["status"] == "active" and silence["ends_at"] == ends
    assert silence["starts_at"] == format_iso(NOW)
    assert silence["matchers"][0] == {"name": "server_id", "value": "db-0[12]",
                                      "isRegex": True, "isEqual": True}
    listed = alerts.client.get("/api/alerts/silences").json()["silences"]
    assert listed == [silence]
    run_minutes(alerts, NOW - NOW % 60, 3)
    for alert in alerts.client.get("/api/alerts?limit=500").json()["alerts"]:
        labels = alert["labels"]
        expected = labels["server_id"] in ("db-01", "db-02") and labels["severity"] != \
            "warning" and alert["state"] != "resolved"
        if alert["state"] == "firing":
            assert alert["silenced"] is expected, alert
    gone = alerts.client.delete(f"/api/alerts/silences?id={silence['id']}", headers=AUTH)
    assert gone.status_code == 200 and gone.json()["status"] == "expired"
    missing = alerts.client.delete("/api/alerts/silences?id=nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("body", "parameter"), [
    ({"matchers": [], "ends_at": "2024-01-03T00:00:00Z", "created_by": "k", "comment": "c"},
     "matchers"),
    ({"matchers": [{"name": "server id", "value": "x"}], "ends_at": "2024-01-03T00:00:00Z",
      "created_by": "k", "comment": "c"}, "matchers[0]"),
    ({"matchers": [{"name": "server_id", "value": "(", "isRegex": True}],
      "ends_at": "2024-01-03T00:00:00Z", "created_by": "k", "comment": "c"}, "matchers[0]"),
    ({"matchers": [{"name": "server_id", "value": "x"}], "ends_at": "2024-01-01T00:00:00Z",
      "created_by": "k", "comment": "c"}, "ends_at"),
    ({"matchers": [{"name": "server_id", "value": "x"}], "ends_at": "soon",
      "created_by": "k", "comment": "c"}, "ends_at"),
    ({"matchers": [{"name": "server_id", "value": "x"}], "ends_at": "2025-01-03T00:00:00Z",
      "created_by": "k", "comment": "c"}, "ends_at"),
    ({"matchers": [{"name": "server_id", "value": "x"}], "ends_at": "2024-01-03T00:00:00Z",
      "created_by": "k"}, "comment"),
])
def test_bad_silences_get_a_clear_4xx(alerts: Api, body: dict[str, Any], parameter: str
                                      ) -> None:
    response = alerts.client.post("/api/alerts/silences", json=body, headers=AUTH)
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["parameter"].startswith(parameter.split("[")[0]), error


def test_acknowledging_a_firing_group(alerts: Api) -> None:
    # api-05 and api-06 fire from 04:41 (tests/api/test_alert_delivery.py)
    run_minutes(alerts, parse_instant("2024-01-02T04:20:00Z", "t"), 30)
    groups = alerts.client.get("/api/alerts").json()["groups"]
    firing = [g for g in groups if g["status"] == "firing"]
    if not firing:
        pytest.fail(f"the window has no firing group to acknowledge: {groups}")
    key = firing[0]["group_key"]
    ack = alerts.client.post("/api/alerts/ack", headers=AUTH,
                             json={"group_key": key, "by": "kim", "comment": "on it"})
    assert ack.status_code == 200, ack.text
    assert ack.json() == {"group_key": key, "acknowledged": {
        "by": "kim", "at": format_iso(alerts.app.dependency_overrides[deps.provide_now]()),
        "comment": "on it"}}
    listed = {g["group_key"]: g for g in alerts.client.get("/api/alerts").json()["groups"]}
    assert listed[key]["acknowledged"]["by"] == "kim"
    unknown = alerts.client.post("/api/alerts/ack", headers=AUTH,
                                 json={"group_key": "inc-0000", "by": "kim"})
    assert unknown.status_code == 404 and unknown.json()["error"]["parameter"] == "group_key"
    resolved = [g for g in groups if g["status"] == "resolved"]
    if resolved:
        late = alerts.client.post("/api/alerts/ack", headers=AUTH,
                                  json={"group_key": resolved[0]["group_key"], "by": "kim"})
        assert late.status_code == 422


def test_writes_need_the_alerts_token_and_refuse_without_one(api: Api) -> None:
    api.app.dependency_overrides[deps.provide_senders] = lambda: []
    refused = api.client.post("/api/alerts/evaluate", headers=AUTH)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "misconfigured"
    assert "ALERTS_TOKEN" in refused.json()["error"]["message"]
    api.use(settings=api.settings.model_copy(update={"alerts_token": TOKEN,
                                                      "cron_secret": "cron-secret"}))
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Bearer cron-secret"}):
        response = api.client.post("/api/alerts/evaluate", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/api/alerts").status_code == 200   # reads are public


@pytest.mark.parametrize(("url", "status", "parameter"), [
    ("/api/alerts?state=open", 400, "state"),
    ("/api/alerts?severity=major", 400, "severity"),
    ("/api/alerts?serverId=db%2001", 400, "serverId"),
    ("/api/alerts?cursor=zzz", 400, "cursor"),
    ("/api/alerts?limit=0", 400, "limit"),
    ("/api/alerts/history?limit=501", 400, "limit"),
])
def test_bad_reads_get_the_stable_error_shape(alerts: Api, url: str, status: int,
                                              parameter: str) -> None:
    response = alerts.client.get(url)
    assert response.status_code == status, response.text
    assert response.json()["error"]["parameter"] == parameter


def test_a_dead_store_fails_the_evaluation_with_503_and_loses_nothing(
    alerts: Api, tmp_path: Path
) -> None:
    run_minutes(alerts, NOW - NOW % 60 - 3 * 60, 3)
    before = alerts.client.get("/api/alerts?limit=500").json()
    live = alerts.store
    alerts.use(store=PostgresStore(f"postgresql://u:p@127.0.0.1:{free_port()}/db",
                                   timeout=1.0), cache=MemoryCache())
    at(alerts, NOW + 60)
    failed = alerts.client.post("/api/alerts/evaluate", headers=AUTH)
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "store_unavailable"
    alerts.use(store=live, cache=MemoryCache())
    assert alerts.client.get("/api/alerts?limit=500").json() == before
    assert evaluate(alerts)["evaluated"] is True   # the minute is evaluated once it is back


def test_a_live_poll_runs_the_minutes_evaluation_once(alerts: Api) -> None:
    alerts.use(settings=alerts.settings.model_copy(update={"alerts_on_poll": True}))
    assert alerts.client.get("/api/alerts").json()["evaluated_at"] is None
    for _ in range(3):
        assert alerts.client.get("/api/monitoring/servers").status_code == 200
    body = alerts.client.get("/api/alerts").json()
    assert body["evaluated_at"] == format_iso(NOW - NOW % 60)
    history = alerts.client.get("/api/alerts/history?limit=500").json()["data"]
    assert all(parse_instant(h["at"], "at") == NOW - NOW % 60 for h in history)
    # the explicit call finds the minute done
    assert evaluate(alerts)["evaluated"] is False

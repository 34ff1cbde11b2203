"""GET /api/metrics/history: hourly rollups (and days of them) that outlive the raw rows."""

from __future__ import annotations

import pytest

from lib.app.rollups import daily_rollups, hourly_rollups
from lib.core import format_iso
from tests.apiclient import DAY0, NOW, Api

DAY = 86_400


def pages(api: Api, query: str) -> list[dict[str, object]]:
    """Every period of the query, following next_cursor."""
    found: list[dict[str, object]] = []
    cursor = None
    while True:
        url = f"/api/metrics/history?{query}" + (f"&cursor={cursor}" if cursor else "")
        response = api.client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["data"])
        found.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def expected_hours(api: Api, server_id: str) -> list[dict[str, object]]:
    rows = api.collector.window(DAY0, NOW - NOW % 600 + 600, 600, [server_id])
    return [r.as_dict() for r in hourly_rollups(rows)]


def test_hourly_history_equals_rollups_of_the_stored_rows(api: Api) -> None:
    got = pages(api, "serverId=db-02&from=2024-01-01T00:00:00Z&to=2024-01-03T00:00:00Z")
    assert got == expected_hours(api, "db-02")
    assert len(got) == 24 + 11 and got[-1]["samples"] == 1  # Jan 2: the 10:00 tick so far


def test_paging_returns_every_hour_once(api: Api) -> None:
    query = "serverId=web-03&from=2024-01-01T00:00:00Z&to=2024-01-03T00:00:00Z&limit=7"
    assert pages(api, query) == expected_hours(api, "web-03")


def test_daily_resolution_rolls_up_the_hours(api: Api) -> None:
    body = api.client.get("/api/metrics/history?serverId=api-01&resolution=1d"
                          "&from=2024-01-01T00:00:00Z&to=2024-01-03T00:00:00Z").json()
    rows = api.collector.window(DAY0, NOW - NOW % 600 + 600, 600, ["api-01"])
    assert body["data"] == [d.as_dict() for d in daily_rollups(hourly_rollups(rows))]
    assert [d["samples"] for d in body["data"]] == [144, 61]
    assert body["resolution"] == "1d" and body["serverId"] == "api-01"


def test_history_outlives_the_pruned_rows(api: Api) -> None:
    before = pages(api, "serverId=cache-01&from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z")
    assert len(before) == 24
    api.use(settings=api.settings.model_copy(update={"cron_secret": "s3cret",
                                                      "retention_hours": 1}))
    batch = api.client.post("/api/generate-batch?start=2024-01-02T09:00:00Z"
                            "&end=2024-01-02T10:10:00Z", headers={"Authorization": "Bearer s3cret"})
    assert batch.status_code == 200 and batch.json()["pruned"] > 0
    daily = api.client.get("/api/metrics/daily?server_id=cache-01&end_time=2024-01-02T00:00:00Z")
    assert daily.json()["count"] == 0  # the raw rows of Jan 1 are gone
    assert pages(api, "serverId=cache-01&from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z"
                 ) == before


def test_history_is_pruned_past_its_own_retention(api: Api) -> None:
    api.use(settings=api.settings.model_copy(update={
        "cron_secret": "s3cret", "history_retention_days": 1}))
    batch = api.client.post("/api/generate-batch?start=2024-01-02T09:00:00Z"
                            "&end=2024-01-02T10:10:00Z", headers={"Authorization": "Bearer s3cret"})
    # the cutoff is a day before NOW (Jan 1 10:00:07): the hours 00:00 .. 10:00 of Jan 1 go
    assert batch.json()["pruned_history"] == 20 * 11
    hours = pages(api, "serverId=web-01&from=2024-01-01T00:00:00Z&to=2024-01-03T00:00:00Z")
    assert hours[0]["timestamp"] == format_iso(NOW - NOW % 3600 - DAY + 3600)


@pytest.mark.parametrize(("url", "status", "code", "parameter"), [
    ("/api/metrics/history", 400, "missing_parameter", "serverId"),
    ("/api/metrics/history?serverId=web-99", 404, "unknown_server", "serverId"),
    ("/api/metrics/history?serverId=web-01&resolution=5m", 400, "invalid_parameter",
     "resolution"),
    ("/api/metrics/history?serverId=web-01&from=2024-01-02&to=2024-01-01", 422,
     "invalid_range", "to"),
    ("/api/metrics/history?serverId=web-01&from=yesterday", 400, "invalid_parameter", "from"),
    ("/api/metrics/history?serverId=web-01&limit=0", 400, "invalid_parameter", "limit"),
    ("/api/metrics/history?serverId=web-01&cursor=bogus", 400, "invalid_parameter", "cursor"),
    ("/api/metrics/history?serverId=web-01&cursor=2024-01-01T00:00:00Z~web-02", 422,
     "invalid_range", "cursor"),
])
def test_bad_parameters_answer_like_daily(api: Api, url: str, status: int, code: str,
                                          parameter: str) -> None:
    response = api.client.get(url)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["parameter"] == parameter


def test_past_history_is_cached_longer(api: Api) -> None:
    past = api.client.get("/api/metrics/history?serverId=web-01&to=2024-01-02T00:00:00Z")
    recent = api.client.get("/api/metrics/history?serverId=web-01")
    assert "s-maxage=3600" in past.headers["cache-control"]
    assert "s-maxage=60" in recent.headers["cache-control"]
    assert past.headers["x-data-source"] == "store"

"""Every endpoint through HTTP, asserting values: the seeds' examples, paging, agreement."""

from __future__ import annotations

from typing import Any

import pytest

from lib.core import STATUSES, format_iso, parse_instant
from lib.store import MetricQuery
from tests.apiclient import DAY0, NOW, Api


def all_stored(api: Api, **filters: Any) -> list[dict[str, object]]:
    rows = api.store.query_metrics(MetricQuery(limit=100_000, **filters))
    return [r.as_dict() for r in rows]


def pages(api: Api, query: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        url = f"/api/metrics/daily?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = api.client.get(url).json()
        rows.extend(body["data"])
        assert body["count"] == len(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("paging did not end")


def test_daily_for_one_server(api: Api) -> None:
    response = api.client.get("/api/metrics/daily?server_id=web-01")
    body = response.json()
    assert response.status_code == 200 and response.headers["x-data-source"] == "store"
    assert body["count"] == 144 + 61 and body["next_cursor"] is None  # Jan 1, Jan 2 to 10:00
    assert {r["server_id"] for r in body["data"]} == {"web-01"}
    assert body["data"] == all_stored(api, server_ids=("web-01",))
    frame = api.sim.frame(DAY0, DAY0 + 600, server_ids=["web-01"])
    assert body["data"][0] == next(frame.rows()).as_dict()


def test_daily_twelve_hour_window(api: Api) -> None:
    rows = pages(api, "start_time=2024-01-01T00:00:00Z&end_time=2024-01-01T12:00:00Z&limit=500")
    assert len(rows) == 72 * 20
    assert rows[0]["timestamp"] == "2024-01-01T00:00:00Z"
    assert rows[-1]["timestamp"] == "2024-01-01T11:50:00Z"
    assert rows == all_stored(api, start=DAY0, end=DAY0 + 12 * 3600)


def test_daily_critical_only(api: Api) -> None:
    rows = pages(api, "status=critical&limit=5000")
    expected = all_stored(api, statuses=("critical",))
    assert rows == expected and len(expected) > 50
    assert {r["status"] for r in rows} == {"critical"}


def test_daily_limit_100_and_paging_returns_every_row_once(api: Api) -> None:
    body = api.client.get("/api/metrics/daily?limit=100").json()
    assert body["count"] == 100 and len(body["data"]) == 100
    rows = pages(api, "limit=1000")
    keys = [(r["timestamp"], r["server_id"]) for r in rows]
    assert len(keys) == len(set(keys)) == len(all_stored(api))
    assert keys == sorted(keys)


def test_daily_filters_combine(api: Api) -> None:
    rows = pages(api, "server_id=db-01,db-02&status=warning&status=critical"
                      "&start_time=2024-01-01T06:00:00Z&end_time=2024-01-02T00:00:00Z")
    assert rows == all_stored(api, server_ids=("db-01", "db-02"), statuses=("warning", "critical"),
                              start=DAY0 + 6 * 3600, end=DAY0 + 86_400)
    assert rows and all(r["server_id"] in ("db-01", "db-02") for r in rows)


def test_servers_snapshot_shape_and_values(api: Api) -> None:
    response = api.client.get("/api/monitoring/servers")
    body = response.json()
    assert response.headers["x-data-source"] == "generator"
    assert len(body["servers"]) == 20 and body["timestamp"] == "2024-01-02T10:00:00Z"
    web = next(s for s in body["servers"] if s["id"] == "web-01")
    row = next(api.sim.frame(NOW - 7, NOW + 23, 30, ["web-01"]).rows())
    assert web["cpu"] == {"usage": row.cpu, "cores": 4}
    assert web["memory"] == {"total": 8192, "used": round(8192 * row.memory / 100),
                             "usage": row.memory}
    assert web["network"] == {"rx": row.network_rx, "tx": row.network_tx,
                              "connections": row.connections}
    assert web["status"] == row.status and web["lastChecked"] == "2024-01-02T10:00:00Z"
    assert web["role"] == "web" and web["name"] == "Web Server 1"
    assert web["uptime"] == api.sim.uptime(["web-01"], NOW - 7)[0]
    summary = body["summary"]
    assert summary["total"] == 20
    assert sum(summary[s] for s in STATUSES) == 20
    assert summary["critical"] == sum(s["status"] == "critical" for s in body["servers"])


def test_servers_reads_through_the_cache(api: Api) -> None:
    first = api.client.get("/api/monitoring/servers")
    second = api.client.get("/api/monitoring/servers")
    assert first.headers["x-data-source"] == "generator"
    assert second.headers["x-data-source"] == "cache"
    assert second.json() == first.json()
    one = api.client.get("/api/monitoring/servers?serverId=db-03").json()
    assert [s["id"] for s in one["servers"]] == ["db-03"] and one["summary"]["total"] == 1


def test_cross_endpoint_agreement(api: Api) -> None:
    tick = "2024-01-01T13:40:00Z"
    daily = api.client.get(f"/api/metrics/daily?server_id=api-04&start_time={tick}"
                           "&end_time=2024-01-01T13:40:01Z").json()["data"][0]
    perf = api.client.get(f"/api/monitoring/performance?serverId=api-04&from={tick}"
                          "&to=2024-01-01T13:50:00Z").json()["metrics"][0]
    live = api.client.get(f"/api/monitoring/servers?serverId=api-04&at={tick}").json()
    server = live["servers"][0]
    assert perf["timestamp"] == daily["timestamp"] == server["lastChecked"] == tick
    assert perf["cpu"] == daily["cpu"] == server["cpu"]["usage"]
    assert perf["memory"] == daily["memory"] == server["memory"]["usage"]
    assert perf["disk"] == daily["disk"] == server["disk"]["usage"]
    assert perf["responseTime"] == daily["response_time"] == server["responseTime"]
    assert perf["network"] == {"rx": daily["network_rx"], "tx": daily["network_tx"]}
    assert server["network"]["rx"] == daily["network_rx"]
    assert server["status"] == daily["status"]


def test_performance_defaults_to_the_last_hour_from_the_store(api: Api) -> None:
    response = api.client.get("/api/monitoring/performance?serverId=cache-02")
    body = response.json()
    assert response.headers["x-data-source"] == "store"
    assert body["from"] == format_iso(NOW - 3600) and body["to"] == format_iso(NOW)
    assert [m["timestamp"] for m in body["metrics"]] == [
        f"2024-01-02T09:{m}:00Z" for m in ("10", "20", "30", "40", "50")] + [
        "2024-01-02T10:00:00Z"]


def test_performance_uses_the_generator_where_the_store_has_no_rows(api: Api) -> None:
    response = api.client.get("/api/monitoring/performance?serverId=web-02&step=60"
                              "&from=2024-01-01T00:00:00Z&to=2024-01-01T00:10:00Z&metric=cpu")
    body = response.json()
    assert response.headers["x-data-source"] == "generator"
    frame = api.sim.frame(DAY0, DAY0 + 600, 60, ["web-02"])
    assert body["metrics"] == [{"timestamp": format_iso(int(t)), "cpu": float(c)}
                               for t, c in zip(frame.timestamps, frame.cpu[:, 0], strict=True)]
    older = api.client.get("/api/monitoring/performance?serverId=web-02"
                           "&from=2023-12-01T00:00:00Z&to=2023-12-01T01:00:00Z")
    assert older.headers["x-data-source"] == "generator" and len(older.json()["metrics"]) == 6


@pytest.mark.parametrize("metric", ["cpu", "memory", "disk", "network", "response_time"])
def test_performance_metric_filter(api: Api, metric: str) -> None:
    body = api.client.get(f"/api/monitoring/performance?serverId=db-01&metric={metric}").json()
    name = "responseTime" if metric == "response_time" else metric
    assert body["metrics"] and all(set(p) == {"timestamp", name} for p in body["metrics"])


def test_status_reports_every_tier(api: Api) -> None:
    body = api.client.get("/api/status").json()
    assert body["collector"] == {"mode": "dummy", "ok": True, "error": None}
    assert body["store"]["backend"] == "sqlite" and body["store"]["ok"] is True
    assert body["store"]["last_tick"] == "2024-01-02T10:00:00Z"
    assert body["cache"] == {"backend": "memory", "ok": True}
    assert body["fleet"] == {"profile": "default", "servers": 20, "seed": api.settings.metrics_seed}


def test_past_windows_are_cached_longer_than_live_views(api: Api) -> None:
    live = api.client.get("/api/monitoring/servers").headers["cache-control"]
    past = api.client.get("/api/metrics/daily?end_time=2024-01-01T12:00:00Z"
                          ).headers["cache-control"]
    recent = api.client.get("/api/metrics/daily").headers["cache-control"]
    assert live == "public, max-age=0, s-maxage=5, stale-while-revalidate=25"
    assert past == "public, max-age=0, s-maxage=3600, stale-while-revalidate=86400"
    assert recent == "public, max-age=0, s-maxage=60, stale-while-revalidate=300"


def test_etag_and_not_modified(api: Api) -> None:
    url = "/api/metrics/daily?limit=50"
    first = api.client.get(url)
    tag = first.headers["etag"]
    assert tag.startswith('"') and len(tag) > 10
    again = api.client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and "cache-control" in again.headers
    other = api.client.get(url, headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.json() == first.json()


def test_gzip_for_large_responses(api: Api) -> None:
    response = api.client.get("/api/metrics/daily?limit=2000",
                              headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["count"] == 2000


def test_cors_preflight_and_simple_requests(api: Api) -> None:
    preflight = api.client.options("/api/monitoring/servers", headers={
        "Origin": "https://dash.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://dash.example")
    assert "GET" in preflight.headers["access-control-allow-methods"]
    simple = api.client.get("/api/monitoring/servers", headers={"Origin": "https://x.example"})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "ETag" in simple.headers["access-control-expose-headers"]


def test_unknown_path_is_json_404(api: Api) -> None:
    response = api.client.get("/api/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_now_is_used_for_defaults(api: Api) -> None:
    assert parse_instant(api.client.get("/api/monitoring/servers").json()["timestamp"], "t") == (
        NOW - NOW % 30)

"""GET /api/analysis/*: incidents detected over our rows, and each server's health, current
anomalies and forecast — shapes, sources, caching, errors, and agreement with the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.cache import MemoryCache
from lib.core import format_iso, parse_instant
from lib.store.postgres import PostgresStore
from lib.store.sqlite import SQLiteStore
from tests.apiclient import DAY0, NOW, SEED, Api
from tests.services.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400
JAN1 = "from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z"


def incidents(api: Api, query: str) -> dict[str, object]:
    response = api.client.get(f"/api/analysis/incidents?{query}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def cli_analyze(*args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "lib", "analyze", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**os.environ, "METRICS_SEED": str(SEED)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_incidents_of_a_stored_day_equal_the_cli_on_the_same_window(api: Api) -> None:
    response = api.client.get(f"/api/analysis/incidents?{JAN1}")
    assert response.status_code == 200
    assert response.headers["x-data-source"] == "store"  # Jan 1 is stored; history is not
    body = response.json()
    cli = cli_analyze("--start", "2024-01-01T00:00:00Z", "--end", "2024-01-02T00:00:00Z")
    assert cli, "a simulated day has incidents"
    assert body["incidents"] == cli
    assert body["count"] == len(cli)
    assert (body["from"], body["to"], body["step"]) == (
        "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", 600)
    assert body["history_from"] == "2023-12-25T00:00:00Z"


def test_the_source_alone_gives_the_same_incidents_as_the_store(api: Api, tmp_path: Path
                                                                ) -> None:
    stored = incidents(api, JAN1)
    api.use(store=SQLiteStore(str(tmp_path / "empty.sqlite3")), hot=MemoryCache(),
            cache=MemoryCache())
    response = api.client.get(f"/api/analysis/incidents?{JAN1}")
    assert response.headers["x-data-source"] == "generator"
    assert response.json() == stored


def test_each_incident_is_complete_and_inside_the_window(api: Api) -> None:
    body = incidents(api, JAN1)
    found = body["incidents"]
    assert isinstance(found, list) and found
    starts = [parse_instant(i["start"], "start") for i in found]
    assert starts == sorted(starts)
    assert all(DAY0 <= s < DAY0 + DAY for s in starts)
    servers = {t.id for t in api.collector.servers()}
    for incident in found:
        assert set(incident) == {"start", "end", "origin", "candidates", "pattern",
                                 "confidence", "affected", "evidence"}
        assert parse_instant(incident["end"], "end") > parse_instant(incident["start"], "s")
        candidates = incident["candidates"]
        assert len(candidates) >= 5
        assert candidates[0]["server_id"] == incident["origin"]
        scores = [c["score"] for c in candidates]
        assert scores == sorted(scores, reverse=True)
        assert {c["server_id"] for c in candidates} <= servers
        assert incident["pattern"] in {
            "cpu_spike", "memory_leak", "disk_full", "network_latency", "db_lock",
            "cascade_failure", "gradual_degradation", "unknown"}
        assert 0 <= incident["confidence"] <= 1
        onsets = [parse_instant(a["onset"], "onset") for a in incident["affected"]]
        assert onsets == sorted(onsets) and onsets[0] == parse_instant(incident["start"], "s")


def test_a_second_request_is_served_from_the_cache_with_the_same_body(api: Api) -> None:
    first = api.client.get(f"/api/analysis/incidents?{JAN1}")
    again = api.client.get(f"/api/analysis/incidents?{JAN1}")
    assert again.headers["x-data-source"] == "cache"
    assert again.json() == first.json()
    # an instant between two ticks holds the same ticks: the same answer, from the cache
    shifted = api.client.get("/api/analysis/incidents?from=2023-12-31T23:50:01Z"
                             "&to=2024-01-01T23:59:59Z")
    assert shifted.headers["x-data-source"] == "cache"
    assert shifted.json()["incidents"] == first.json()["incidents"]
    assert shifted.json()["from"] == "2023-12-31T23:50:01Z"


def test_caching_headers_follow_the_window(api: Api) -> None:
    past = api.client.get(f"/api/analysis/incidents?{JAN1}")
    assert "s-maxage=3600" in past.headers["cache-control"]
    recent = api.client.get("/api/analysis/incidents")  # the last day, up to now
    assert "s-maxage=60" in recent.headers["cache-control"]
    body = recent.json()
    assert (body["from"], body["to"]) == (format_iso(NOW - DAY), format_iso(NOW))
    live = api.client.get("/api/analysis/server?serverId=db-01")
    assert "s-maxage=5" in live.headers["cache-control"]
    assert "etag" in {k.lower() for k in past.headers}


def test_a_window_without_a_tick_has_no_incidents(api: Api) -> None:
    body = incidents(api, "from=2024-01-01T00:00:01Z&to=2024-01-01T00:10:00Z")
    assert body["incidents"] == [] and body["count"] == 0


def test_server_health_anomalies_and_forecast(api: Api) -> None:
    response = api.client.get("/api/analysis/servers")
    assert response.status_code == 200, response.text
    fleet = response.json()
    assert fleet["at"] == format_iso(NOW - NOW % 600)
    ids = [s["server_id"] for s in fleet["servers"]]
    assert ids == sorted(t.id for t in api.collector.servers())
    for server in fleet["servers"]:
        assert 0 <= server["health"] <= 100
        assert server["data"] == "current" and server["at"] == fleet["at"]
        assert set(server["forecast"]) == {"disk", "memory"}
        for anomaly in server["anomalies"]:
            assert set(anomaly) == {"metric", "value", "baseline", "sigma", "z"}
            assert anomaly["sigma"] > 0
            assert anomaly["z"] == pytest.approx(
                (anomaly["value"] - anomaly["baseline"]) / anomaly["sigma"], abs=0.02)
    one = api.client.get("/api/analysis/server?serverId=db-02")
    assert one.json() == next(s for s in fleet["servers"] if s["server_id"] == "db-02")
    assert one.headers["x-data-source"] == "cache"  # the fleet's view of this tick


def test_health_follows_its_documented_formula_and_spreads_over_a_day(api: Api) -> None:
    """health = 100 × (1 − 0.6 × worst threshold pressure − 0.4 × anomaly) (docs/analysis.md);
    over Jan 1 the fleet has both healthy and sick moments."""
    scores: list[int] = []
    for hour in range(0, 24, 3):
        at = format_iso(DAY0 + hour * 3600)
        body = api.client.get(f"/api/analysis/servers?at={at}").json()
        for server in body["servers"]:
            parts = dict(server["parts"])
            anomaly = parts.pop("anomaly")
            expected = 100 * (1 - 0.6 * max(parts.values()) - 0.4 * anomaly)
            assert server["health"] == pytest.approx(min(100, max(0, expected)), abs=0.6)
            if any(a["z"] > 3.5 for a in server["anomalies"]):
                assert anomaly > 0 and server["health"] < 100
            scores.append(server["health"])
    assert min(scores) < 60 and max(scores) == 100


@pytest.mark.parametrize(("url", "status", "code", "parameter"), [
    ("/api/analysis/incidents?from=2023-12-20T00:00:00Z&to=2024-01-02T00:00:00Z", 400,
     "window_too_large", "from"),
    ("/api/analysis/incidents?from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z", 422,
     "invalid_range", "to"),
    ("/api/analysis/incidents?to=2024-01-03T00:00:00Z", 422, "invalid_range", "to"),
    ("/api/analysis/incidents?from=yesterday", 400, "invalid_parameter", "from"),
    ("/api/analysis/server?serverId=nope-01", 404, "unknown_server", "serverId"),
    ("/api/analysis/server?serverId=db-01&at=2025-01-01T00:00:00Z", 422, "invalid_range",
     "at"),
    ("/api/analysis/server", 400, "missing_parameter", "serverId"),
    ("/api/analysis/server?serverId=db%2001", 400, "invalid_parameter", "serverId"),
    ("/api/analysis/servers?at=2024-13-01T00:00:00Z", 400, "invalid_parameter", "at"),
])
def test_bad_requests_get_the_stable_error_shape(
    api: Api, url: str, status: int, code: str, parameter: str
) -> None:
    response = api.client.get(url)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["parameter"] == parameter
    assert response.headers["cache-control"] == "no-store"


def test_a_dead_store_falls_back_to_the_source(api: Api) -> None:
    stored = incidents(api, JAN1)
    dead = PostgresStore(f"postgresql://u:p@127.0.0.1:{free_port()}/db", timeout=1.0)
    api.use(store=dead, hot=MemoryCache(), cache=MemoryCache())
    response = api.client.get(f"/api/analysis/incidents?{JAN1}")
    assert response.status_code == 200
    assert response.headers["x-data-source"] == "generator"
    assert response.json() == stored


def test_ground_truth_is_the_simulators_record_of_the_window(api: Api) -> None:
    start, end = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"
    response = api.client.get("/api/analysis/truth", params={"from": start, "to": end})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = [i.as_dict() for i in api.sim.incidents(parse_instant(start, "s"),
                                                       parse_instant(end, "e"))]
    assert body["incidents"] == expected and body["count"] == len(expected) > 0
    assert response.headers["x-data-source"] == "generator"
    too_long = api.client.get("/api/analysis/truth",
                              params={"from": "2023-12-01T00:00:00Z", "to": end})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "window_too_large"

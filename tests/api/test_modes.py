"""The same API behaviour in every collector mode, and the store holding what the source gave.

dummy: the simulator. custom: the local on-premises API (tests/services/onprem.py) serving
simulated values. prometheus: a real Prometheus scraping ``/api/prometheus`` of a real
``python -m lib serve``, read back through PromQL. cloudwatch: moto's server mode holding an EC2
instance per server (Name and role tags) and the simulated values put as CloudWatch metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lib.app import store_window
from lib.cache import MemoryCache
from lib.collectors import Collector, DummyCollector
from lib.collectors.cloudwatch import CloudWatchCollector, make_clients
from lib.collectors.custom import CustomCollector
from lib.collectors.prometheus import PrometheusCollector
from lib.core import STATUSES, Settings
from lib.sim import Simulator, get_fleet
from lib.store import MetricQuery
from lib.store.sqlite import SQLiteStore
from lib.web import combined_app, deps
from tests.services.moto import KEY_ID, REGION, SECRET, MotoServer
from tests.services.onprem import LATEST_AT, ONPREM_KEY, running_onprem_api
from tests.services.prometheus import running_local_api, running_prometheus, wait_for_samples

SEED = 31337


@dataclass
class Mode:
    name: str
    collector: Collector
    now: int  # an instant at which the source has data
    source: str  # the X-Data-Source a live read reports


@pytest.fixture(scope="module", params=["dummy", "custom", "prometheus", "cloudwatch"])
def mode(request: pytest.FixtureRequest) -> Iterator[Mode]:
    sim = Simulator(SEED, get_fleet())
    if request.param == "cloudwatch":
        yield from _cloudwatch_mode(request.getfixturevalue("moto_server"), sim)
    elif request.param == "dummy":
        yield Mode("dummy", DummyCollector(sim), LATEST_AT, "generator")
    elif request.param == "custom":
        with running_onprem_api(sim, get_fleet().ids) as onprem:
            collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=5.0)
            yield Mode("custom", collector, LATEST_AT, "collector")
            collector.close()
    else:
        with running_local_api({"METRICS_SEED": str(SEED)}) as address, running_prometheus(
            [address], job="fleet", metrics_path="/api/prometheus", honor_labels=True
        ) as prometheus:
            wait_for_samples(prometheus, "node_memory_MemTotal_bytes", 4)
            # Wait for a 30-s tick that has samples (and a rate window) on both sides.
            tick = (int(time.time()) + 4) // 30 * 30 + 30
            time.sleep(max(0.0, tick + 3 - time.time()))
            collector = PrometheusCollector(prometheus.url, timeout=5.0, rate_window=3)
            yield Mode("prometheus", collector, tick + 1, "collector")
            collector.close()


def _cloudwatch_mode(moto: MotoServer, sim: Simulator) -> Iterator[Mode]:
    """The fleet as EC2 instances with detailed monitoring: a datapoint a minute, the
    simulator's values, in the quarter hour around LATEST_AT."""
    moto.reset()
    ids = {t.id: moto.launch(t.id, role=t.role) for t in sim.fleet.servers}
    minute = LATEST_AT - LATEST_AT % 60
    moto.put_rows(ids, sim.frame(minute - 600, minute + 300, 60).rows(), 60)
    collector = CloudWatchCollector(
        *make_clients(REGION, KEY_ID, SECRET, endpoint_url=moto.url, timeout=10.0),
        period=60, owns_clients=True)
    yield Mode("cloudwatch", collector, LATEST_AT, "collector")
    collector.close()


CRON_SECRET = "modes-cron-secret"


@pytest.fixture
def client(mode: Mode, tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore]]:
    store = SQLiteStore(str(tmp_path / "m.sqlite3"))
    app = combined_app()
    settings = Settings(metrics_seed=SEED, collector_mode=mode.collector.mode,  # type: ignore[arg-type]
                        cron_secret=CRON_SECRET)
    app.dependency_overrides.update({
        deps.provide_store: lambda: store,
        deps.provide_cache: MemoryCache,
        deps.provide_collector: lambda: mode.collector,
        deps.provide_settings: lambda: settings,
        deps.provide_now: lambda: mode.now,
    })
    yield TestClient(app), store
    store.close()


def test_servers_list_every_server_with_the_sources_values(
    mode: Mode, client: tuple[TestClient, SQLiteStore]
) -> None:
    api, _ = client
    response = api.get("/api/monitoring/servers")
    assert response.status_code == 200, response.text
    assert response.headers["x-data-source"] == mode.source
    body = response.json()
    assert [s["id"] for s in body["servers"]] == list(get_fleet().ids)
    snaps = {s.row.server_id: s for s in mode.collector.snapshot(None, mode.now)}
    for server in body["servers"]:
        row = snaps[server["id"]].row
        assert server["memory"]["usage"] == row.memory and server["disk"]["usage"] == row.disk
        assert server["status"] == row.status and server["status"] in STATUSES
        assert 0 <= server["cpu"]["usage"] <= 100
    assert body["summary"]["total"] == 20
    assert sum(body["summary"][s] for s in STATUSES) == 20


def test_one_server_and_unknown_servers(mode: Mode, client: tuple[TestClient, SQLiteStore]
                                        ) -> None:
    api, _ = client
    one = api.get("/api/monitoring/servers?serverId=db-02").json()
    assert [s["id"] for s in one["servers"]] == ["db-02"]
    missing = api.get("/api/monitoring/servers?serverId=db-99")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_server"


def test_performance_reads_the_source(mode: Mode, client: tuple[TestClient, SQLiteStore]
                                      ) -> None:
    api, _ = client
    end = mode.now - mode.now % 30 + 30  # the window [end - 120, end) holds the current tick
    response = api.get(f"/api/monitoring/performance?serverId=web-01&step=30"
                       f"&from={_iso(end - 120)}&to={_iso(end)}")
    assert response.status_code == 200, response.text
    assert response.headers["x-data-source"] == mode.source
    points = response.json()["metrics"]
    expected = mode.collector.window(end - 120, end, 30, ["web-01"])
    assert [p["timestamp"] for p in points] == [_iso(r.timestamp) for r in expected]
    assert [p["memory"] for p in points] == [r.memory for r in expected] and points


def test_status_reports_the_mode(mode: Mode, client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    body = api.get("/api/status").json()
    assert body["collector"] == {"mode": mode.name, "ok": True, "error": None}
    assert body["fleet"]["servers"] == 20


def test_the_store_holds_what_the_collector_returned(
    mode: Mode, client: tuple[TestClient, SQLiteStore]
) -> None:
    _, store = client
    end = mode.now - mode.now % 30 + 30
    result = store_window(mode.collector, store, end - 90, end, step=30)
    stored = store.query_metrics(MetricQuery(limit=10_000))
    assert stored == mode.collector.window(end - 90, end, 30)
    assert result.rows == len(stored) > 0


def test_generate_batch_stores_the_collector_rows(
    mode: Mode, client: tuple[TestClient, SQLiteStore]
) -> None:
    if mode.name in ("prometheus", "cloudwatch"):
        pytest.skip("the local source holds minutes of data, not a day of 600-s history")
    api, store = client
    day = _iso(mode.now - mode.now % 86_400)[:10]
    response = api.post(f"/api/generate-batch?date={day}",
                        headers={"Authorization": f"Bearer {CRON_SECRET}"})
    assert response.status_code == 200, response.text
    start = mode.now - mode.now % 86_400
    end = mode.now - mode.now % 600 + 600
    assert store.query_metrics(MetricQuery(limit=10_000)) == mode.collector.window(start, end, 600)
    assert response.json()["rows"] == (end - start) // 600 * 20


def _iso(epoch: int) -> str:
    from lib.core import format_iso

    return format_iso(epoch)


def test_a_source_that_is_down_gives_503_never_500(tmp_path: Path) -> None:
    sim = Simulator(SEED, get_fleet())
    with running_onprem_api(sim, get_fleet().ids) as onprem:
        collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=1.0)
    # The on-premises API is stopped now: connection refused.
    store = SQLiteStore(str(tmp_path / "m.sqlite3"))
    app = combined_app()
    app.dependency_overrides.update({
        deps.provide_store: lambda: store, deps.provide_cache: MemoryCache,
        deps.provide_collector: lambda: collector, deps.provide_now: lambda: LATEST_AT,
        deps.provide_settings: lambda: Settings(cron_secret=CRON_SECRET),
    })
    api = TestClient(app)
    for url in ("/api/monitoring/servers", "/api/monitoring/performance?serverId=web-01",
                "/api/generate-batch"):
        response = api.get(url, headers={"Authorization": f"Bearer {CRON_SECRET}"})
        assert response.status_code == 503, url
        assert response.json()["error"]["code"] == "source_unavailable"
    # Stored history needs only the store.
    assert api.get("/api/metrics/daily?server_id=web-01").status_code == 200
    status = api.get("/api/status")
    assert status.status_code == 200
    body = status.json()
    assert body["collector"]["mode"] == "custom" and body["collector"]["ok"] is False
    assert body["fleet"]["servers"] is None and body["store"]["ok"] is True
    store.close()

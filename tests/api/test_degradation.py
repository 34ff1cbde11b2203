"""A slow or dead cache never fails a request; a dead store fails only what needs it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lib.cache import MemoryCache
from lib.cache.upstash import UpstashCache
from lib.collectors.custom import CustomCollector
from lib.store.postgres import PostgresStore
from lib.store.supabase import SupabaseStore
from tests.apiclient import Api
from tests.services.onprem import ONPREM_KEY, OnPremAPI
from tests.services.processes import free_port
from tests.services.redis import running_redis
from tests.services.upstash_shim import SHIM_TOKEN, UpstashShim


def test_the_simulator_keeps_its_snapshots_in_the_process(api: Api, upstash: UpstashShim
                                                            ) -> None:
    # A fleet tick is computed faster than any round trip to Upstash: no command is sent.
    api.use(cache=UpstashCache(upstash.url, upstash.token, timeout=1.0))
    first = api.client.get("/api/monitoring/servers")
    second = api.client.get("/api/monitoring/servers")
    assert first.headers["x-data-source"] == "generator"
    assert second.headers["x-data-source"] == "cache" and second.json() == first.json()
    assert upstash.requests == []


def _reads_answer(api: Api) -> None:
    for url in ("/api/monitoring/servers", "/api/monitoring/servers?serverId=web-02",
                "/api/metrics/daily?limit=5", "/api/status"):
        api.use(hot=MemoryCache())  # a fresh instance: the live view must reach the warm layer
        began = time.monotonic()
        response = api.client.get(url)
        assert response.status_code == 200, url
        assert time.monotonic() - began < 3


@pytest.fixture
def real_source(api: Api, onprem: OnPremAPI) -> Iterator[Api]:
    """The API on a source that is not computed in process, so the live view uses Upstash."""
    collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=5.0)
    api.use(collector=collector)
    yield api
    collector.close()


def test_reads_survive_upstash_going_away(real_source: Api) -> None:
    api = real_source
    with running_redis() as private_redis:
        shim = UpstashShim(private_redis)
        shim.start()
        api.use(cache=UpstashCache(shim.url, SHIM_TOKEN, timeout=0.5))
        assert api.client.get("/api/monitoring/servers").status_code == 200
        assert shim.requests  # the warm layer was used
    try:
        # The Redis behind the REST endpoint is gone: the endpoint answers errors.
        _reads_answer(api)
        api.use(hot=MemoryCache())
        assert api.client.get("/api/monitoring/servers").headers["x-data-source"] == "collector"
    finally:
        shim.stop()
    # The endpoint itself is gone: connection refused.
    _reads_answer(api)
    assert api.client.get("/api/status").json()["cache"] == {"backend": "upstash", "ok": False}


def test_reads_survive_a_hung_upstash(real_source: Api, upstash: UpstashShim) -> None:
    api = real_source
    api.use(cache=UpstashCache(upstash.url, upstash.token, timeout=0.5))
    upstash.hang(True)
    began = time.monotonic()
    response = api.client.get("/api/monitoring/servers")
    assert response.status_code == 200 and response.headers["x-data-source"] == "collector"
    assert time.monotonic() - began < 4  # two half-second timeouts (read, then write), margin


@pytest.fixture(params=["postgres", "supabase"])
def dead_store(request: pytest.FixtureRequest) -> PostgresStore | SupabaseStore:
    port = free_port()
    if request.param == "postgres":
        return PostgresStore(f"postgresql://u:p@127.0.0.1:{port}/db", timeout=1.0)
    return SupabaseStore(f"http://127.0.0.1:{port}", "service-key", timeout=1.0)


def test_dead_store_gives_503_for_daily_and_servers_keep_answering(
    api: Api, dead_store: PostgresStore | SupabaseStore
) -> None:
    api.use(store=dead_store)
    daily = api.client.get("/api/metrics/daily")
    assert daily.status_code == 503
    error = daily.json()["error"]
    assert error["code"] == "store_unavailable" and "store" in error["message"]
    servers = api.client.get("/api/monitoring/servers")
    assert servers.status_code == 200 and servers.headers["x-data-source"] == "generator"
    assert len(servers.json()["servers"]) == 20
    perf = api.client.get("/api/monitoring/performance?serverId=web-01")
    assert perf.status_code == 200 and perf.headers["x-data-source"] == "generator"
    status = api.client.get("/api/status").json()
    assert status["store"]["ok"] is False and status["store"]["error"]
    api.use(settings=api.settings.model_copy(update={"cron_secret": "s3cret"}))
    batch = api.client.post("/api/generate-batch?date=2024-01-02",
                            headers={"Authorization": "Bearer s3cret"})
    assert batch.status_code == 503 and batch.json()["error"]["code"] == "store_unavailable"

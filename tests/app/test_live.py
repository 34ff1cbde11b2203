"""The live view's layers: this process's memory (hot), Upstash (warm), the source.

Commands are counted by the real Redis behind the Upstash shim (``INFO commandstats``), as
Upstash bills them: one per command, pipelines included.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lib.app import servers_snapshot
from lib.app.live import snapshot_key
from lib.cache import MemoryCache
from lib.cache.upstash import UpstashCache
from lib.collectors import DummyCollector
from lib.collectors.custom import CustomCollector
from lib.core import Settings
from lib.sim import Simulator, get_fleet
from tests.services.commandstats import commands_run, reset_commandstats
from tests.services.onprem import LATEST_AT, ONPREM_KEY, OnPremAPI
from tests.services.redis import RedisServer
from tests.services.upstash_shim import UpstashShim

SETTINGS = Settings()


@pytest.fixture
def warm(upstash: UpstashShim, clean_redis: RedisServer) -> Iterator[UpstashCache]:
    cache = UpstashCache(upstash.url, upstash.token, timeout=2.0)
    reset_commandstats(clean_redis)
    yield cache
    cache.close()


@pytest.fixture
def source(onprem: OnPremAPI) -> Iterator[CustomCollector]:
    collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=5.0)
    yield collector
    collector.close()


def poll(collector: object, hot: MemoryCache, warm: UpstashCache, now: int,
         server_id: str | None = None) -> tuple[str, dict[str, object]]:
    result = servers_snapshot(collector, hot, warm, SETTINGS, now,  # type: ignore[arg-type]
                              at=None, server_id=server_id)
    return result.source, result.payload


def test_a_second_poll_in_the_tick_costs_no_command_and_a_new_tick_at_most_two(
    source: CustomCollector, warm: UpstashCache, clean_redis: RedisServer
) -> None:
    hot = MemoryCache()
    first = poll(source, hot, warm, LATEST_AT)
    assert first[0] == "collector"
    assert commands_run(clean_redis) == {"get": 1, "set": 1}  # a miss, then the snapshot
    reset_commandstats(clean_redis)
    again = poll(source, hot, warm, LATEST_AT + 10)  # same 30-s tick, same instance
    assert again == ("cache", first[1])
    one = poll(source, hot, warm, LATEST_AT + 12, "web-02")
    assert one[1]["servers"] == [s for s in first[1]["servers"]  # type: ignore[union-attr]
                                 if s["id"] == "web-02"]
    assert commands_run(clean_redis) == {}
    poll(source, hot, warm, LATEST_AT + 30)  # the next tick
    assert sum(commands_run(clean_redis).values()) <= 2


def test_another_instance_reads_the_tick_from_upstash_with_one_command(
    source: CustomCollector, warm: UpstashCache, clean_redis: RedisServer, onprem: OnPremAPI
) -> None:
    first = poll(source, MemoryCache(), warm, LATEST_AT)
    asked = len(onprem.requests)
    reset_commandstats(clean_redis)
    other = poll(source, MemoryCache(), warm, LATEST_AT + 5)  # a cold instance, same tick
    assert other == ("cache", first[1])
    assert commands_run(clean_redis) == {"get": 1}
    assert len(onprem.requests) == asked  # the source was not asked again
    stored = warm.get(snapshot_key(source, LATEST_AT - LATEST_AT % 30))
    assert stored is not None and '"id":"api-01"' in stored


def test_the_simulator_never_spends_a_command(warm: UpstashCache, clean_redis: RedisServer
                                              ) -> None:
    dummy = DummyCollector(Simulator(7, get_fleet()))
    hot = MemoryCache()
    for now in range(LATEST_AT, LATEST_AT + 600, 10):
        poll(dummy, hot, warm, now)
    assert commands_run(clean_redis) == {}
    assert poll(dummy, MemoryCache(), warm, LATEST_AT)[0] == "generator"


def test_a_dead_upstash_costs_the_source_once_per_tick(source: CustomCollector,
                                                       onprem: OnPremAPI) -> None:
    dead = UpstashCache("http://127.0.0.1:9", "token", timeout=0.3)
    hot = MemoryCache()
    assert poll(source, hot, dead, LATEST_AT)[0] == "collector"
    asked = len(onprem.requests)
    assert poll(source, hot, dead, LATEST_AT + 10)[0] == "cache"
    assert len(onprem.requests) == asked

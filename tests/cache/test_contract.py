"""The Cache contract, run against every real backend.

MemoryCache runs with a fake clock (expiry without sleeping); UpstashCache runs through the local
Upstash REST shim in front of a real redis-server, where expiry is real and polled with a deadline.
MemoryCache's own guarantees (LRU bound, thread safety) follow at the end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lib.cache import Cache, MemoryCache
from lib.cache.upstash import UpstashCache
from tests.services.upstash_shim import UpstashShim

EXPIRY_DEADLINE_SECONDS = 5.0


def latest_key(server_id: str) -> str:
    """A key of the shape the seeds used (any string key does for the cache)."""
    return f"server:{server_id}:latest"


@dataclass
class FakeClock:
    """A monotonic clock that only moves when told to."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """A cache under test and the way time passes for it."""

    cache: Cache
    clock: FakeClock | None = None

    def wait_until_missing(self, key: str, ttl: int) -> bool:
        """True once ``key`` has expired; real backends are polled until a deadline."""
        if self.clock is not None:
            self.clock.now += ttl
            return self.cache.get(key) is None
        deadline = time.monotonic() + ttl + EXPIRY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.cache.get(key) is None:
                return True
            time.sleep(0.1)
        return False


@pytest.fixture(params=["memory", "upstash"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()
        yield Backend(MemoryCache(clock=clock), clock)
        return
    shim: UpstashShim = request.getfixturevalue("upstash")
    cache = UpstashCache(shim.url, shim.token, timeout=2.0)
    yield Backend(cache)
    cache.close()


def test_backend_satisfies_the_protocol(backend: Backend) -> None:
    assert isinstance(backend.cache, Cache)
    assert backend.cache.name in {"memory", "upstash"}


def test_set_then_get_returns_the_value(backend: Backend) -> None:
    backend.cache.set("snapshot:dummy:7:1704067200", "snapshot-1", ttl=300)
    assert backend.cache.get("snapshot:dummy:7:1704067200") == "snapshot-1"


def test_get_of_a_missing_key_is_none(backend: Backend) -> None:
    assert backend.cache.get("server:nobody:latest") is None


def test_get_many_keeps_order_with_hits_and_misses(backend: Backend) -> None:
    backend.cache.set("k1", "one", ttl=300)
    backend.cache.set("k3", "three", ttl=300)
    assert backend.cache.get_many(["k3", "k2", "k1", "k4"]) == ["three", None, "one", None]


def test_get_many_of_no_keys_is_empty(backend: Backend) -> None:
    assert backend.cache.get_many([]) == []


def test_set_many_stores_every_item(backend: Backend) -> None:
    items = {latest_key(f"web-0{i}"): f"snapshot-{i}" for i in range(1, 7)}
    backend.cache.set_many(items, ttl=300)
    assert backend.cache.get_many(list(items)) == list(items.values())


def test_set_many_of_nothing_is_a_no_op(backend: Backend) -> None:
    backend.cache.set_many({}, ttl=300)
    assert backend.cache.get_many(["a"]) == [None]


def test_delete_removes_the_key_and_only_it(backend: Backend) -> None:
    backend.cache.set_many({"a": "1", "b": "2"}, ttl=300)
    backend.cache.delete("a")
    assert backend.cache.get_many(["a", "b"]) == [None, "2"]


def test_delete_of_a_missing_key_is_a_no_op(backend: Backend) -> None:
    backend.cache.delete("never-set")
    assert backend.cache.get("never-set") is None


def test_set_overwrites_the_previous_value(backend: Backend) -> None:
    backend.cache.set("k", "old", ttl=300)
    backend.cache.set("k", "new", ttl=300)
    assert backend.cache.get("k") == "new"


def test_set_many_overwrites_previous_values(backend: Backend) -> None:
    backend.cache.set("k", "old", ttl=300)
    backend.cache.set_many({"k": "new", "other": "x"}, ttl=300)
    assert backend.cache.get_many(["k", "other"]) == ["new", "x"]


def test_entry_expires_after_its_ttl(backend: Backend) -> None:
    backend.cache.set("short", "v", ttl=1)
    backend.cache.set("long", "v", ttl=300)
    assert backend.cache.get("short") == "v"
    assert backend.wait_until_missing("short", ttl=1)
    assert backend.cache.get("long") == "v"


def test_set_many_entries_expire_after_their_ttl(backend: Backend) -> None:
    backend.cache.set_many({"a": "1", "b": "2"}, ttl=1)
    assert backend.cache.get_many(["a", "b"]) == ["1", "2"]
    assert backend.wait_until_missing("a", ttl=1)
    assert backend.cache.get_many(["a", "b"]) == [None, None]


def test_overwrite_renews_the_ttl(backend: Backend) -> None:
    backend.cache.set_many({"k": "old", "probe": "p"}, ttl=1)
    backend.cache.set("k", "new", ttl=300)
    # once the probe, set alongside the old value, has expired, the old TTL has passed too
    assert backend.wait_until_missing("probe", ttl=1)
    assert backend.cache.get("k") == "new"


def test_ttl_below_one_stores_nothing(backend: Backend) -> None:
    backend.cache.set("zero", "v", ttl=0)
    backend.cache.set_many({"negative": "v"}, ttl=-5)
    assert backend.cache.get_many(["zero", "negative"]) == [None, None]


def test_ping_answers_true(backend: Backend) -> None:
    assert backend.cache.ping() is True


@pytest.mark.parametrize(
    "value",
    [
        json.dumps({"id": "web-01", "cpu": 42.5, "name": "웹 서버 1", "note": "🔥 ü ß"}),
        json.dumps({"quote": '"', "backslash": "\\", "newline": "a\nb"}, ensure_ascii=False),
        "OK",  # the status reply the Upstash SDK leaves un-decoded
        "PONG",
        "42",
        "",
        "null",
    ],
)
def test_values_round_trip_unchanged(backend: Backend, value: str) -> None:
    backend.cache.set("k", value, ttl=300)
    backend.cache.set_many({"m": value}, ttl=300)
    assert backend.cache.get("k") == value
    assert backend.cache.get_many(["k", "m"]) == [value, value]


# MemoryCache's own guarantees.


def test_memory_cache_evicts_the_least_recently_used_entry() -> None:
    cache = MemoryCache(max_entries=3, clock=FakeClock())
    cache.set_many({"a": "1", "b": "2", "c": "3"}, ttl=300)
    assert cache.get("a") == "1"  # a is now the most recently used
    cache.set("d", "4", ttl=300)
    assert cache.get_many(["a", "b", "c", "d"]) == ["1", None, "3", "4"]
    assert len(cache) == 3


def test_memory_cache_set_many_beyond_the_bound_keeps_the_last_items() -> None:
    cache = MemoryCache(max_entries=2, clock=FakeClock())
    cache.set_many({"a": "1", "b": "2", "c": "3"}, ttl=300)
    assert cache.get_many(["a", "b", "c"]) == [None, "2", "3"]


def test_memory_cache_entry_lives_until_exactly_its_ttl() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    cache.set("k", "v", ttl=10)
    clock.now += 9.999
    assert cache.get("k") == "v"
    clock.now += 0.001
    assert cache.get("k") is None
    assert len(cache) == 0


def test_memory_cache_instances_are_independent() -> None:
    first, second = MemoryCache(), MemoryCache()
    first.set("k", "v", ttl=300)
    assert second.get("k") is None


def test_memory_cache_close_drops_everything() -> None:
    cache = MemoryCache()
    cache.set("k", "v", ttl=300)
    cache.close()
    assert cache.get("k") is None


def test_memory_cache_rejects_a_bound_below_one() -> None:
    with pytest.raises(ValueError, match="max_entries must be at least 1, got 0"):
        MemoryCache(max_entries=0)


def test_memory_cache_survives_concurrent_writers_and_readers() -> None:
    cache = MemoryCache(max_entries=50)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(2_000):
                key = f"k{(worker * 7 + i) % 120}"
                cache.set(key, f"{worker}-{i}", ttl=300)
                cache.get_many([key, f"k{i % 120}"])
                if i % 10 == 0:
                    cache.delete(key)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 50
    cache.set("final", "v", ttl=300)
    assert cache.get("final") == "v"

"""The analysis endpoints' latency through the function app: computed, and served warm.

    .venv/bin/python bench/bench_analysis_api.py [--days 7] [--repeat 15]

``GET /api/analysis/incidents`` for one day and ``GET /api/analysis/servers`` at one tick,
through the combined app in process (TestClient), on one warm instance:

    computed   a window not asked before (each day of --days once): rows read, seven days
               of history analysed with it, the answer cached
    hot        the same window again on the same instance (this process's memory)
    warm       the same window on another instance (empty memory): one GET to Upstash (the
               REST shim in front of a real Redis, on loopback)

Rows come from the store (SQLite holding every day asked, with their history) or, for the
``source`` rows, from the simulator itself (an empty store). Goal: a day's
incidents warm p50 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient

from lib.app import store_window
from lib.cache import MemoryCache
from lib.cache.upstash import UpstashCache
from lib.collectors import DummyCollector
from lib.core import DAY, format_iso
from lib.sim import Simulator, get_fleet
from lib.store.sqlite import SQLiteStore
from lib.web import combined_app, deps
from tests.services.redis import flushall, running_redis
from tests.services.upstash_shim import SHIM_TOKEN, running_upstash_shim

SEED = 77
DAY0 = 1_718_236_800  # 2024-06-13T00:00:00Z


def p50(samples: list[float]) -> str:
    return f"{1000 * statistics.median(samples):.1f}"


def timed(client: TestClient, url: str) -> tuple[float, str]:
    began = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.text
    return elapsed, response.headers["x-data-source"]


def measure(app: Any, store: Any, warm: UpstashCache, days: int, repeat: int
            ) -> dict[str, list[float]]:
    collector = DummyCollector(Simulator(SEED, get_fleet()))
    now = DAY0 + days * DAY + 3600
    app.dependency_overrides.update({
        deps.provide_store: lambda: store, deps.provide_collector: lambda: collector,
        deps.provide_cache: lambda: warm, deps.provide_now: lambda: now})
    client = TestClient(app)
    found: dict[str, list[float]] = {}

    def use_hot() -> None:
        hot = MemoryCache()
        app.dependency_overrides[deps.provide_hot_cache] = lambda: hot

    for name, urls in (
        ("incidents", [f"/api/analysis/incidents?from={format_iso(DAY0 + d * DAY)}"
                       f"&to={format_iso(DAY0 + (d + 1) * DAY)}" for d in range(days)]),
        ("servers", [f"/api/analysis/servers?at={format_iso(DAY0 + d * DAY + 43_200)}"
                     for d in range(days)]),
    ):
        use_hot()
        computed = [timed(client, url) for url in urls]
        assert all(source != "cache" for _, source in computed)
        found[f"{name} computed"] = [t for t, _ in computed]
        found[f"{name} hot"] = [timed(client, urls[0])[0] for _ in range(repeat)]
        warm_times = []
        for _ in range(repeat):
            use_hot()  # another instance: nothing in memory, the answer in Upstash
            elapsed, source = timed(client, urls[-1])
            assert source == "cache"
            warm_times.append(elapsed)
        found[f"{name} warm"] = warm_times
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    app = combined_app()
    with tempfile.TemporaryDirectory() as tmp, running_redis() as redis, \
            running_upstash_shim(redis) as shim:
        warm = UpstashCache(shim.url, SHIM_TOKEN, timeout=2.0)
        stored = SQLiteStore(str(Path(tmp) / "stored.sqlite3"))
        store_window(DummyCollector(Simulator(SEED, get_fleet())), stored, DAY0 - 7 * DAY,
                     DAY0 + args.days * DAY + 3600)
        results = {}
        for label, store in (("store", stored),
                             ("source", SQLiteStore(str(Path(tmp) / "empty.sqlite3")))):
            flushall(redis)
            results[label] = measure(app, store, warm, args.days, args.repeat)
        warm.close()
    print(f"seed {SEED}, default fleet, {args.days} days asked once each (computed), then "
          f"{args.repeat} times (hot, warm); milliseconds\n")
    print("| request | rows from | n | p50 | max |")
    print("|---|---|---|---|---|")
    for label, found in results.items():
        for name, samples in found.items():
            print(f"| {name} | {label} | {len(samples)} | {p50(samples)} | "
                  f"{1000 * max(samples):.1f} |")


if __name__ == "__main__":
    main()

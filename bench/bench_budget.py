"""What each operation costs on the free tiers, measured; then a month of the default usage.

    .venv/bin/python bench/bench_budget.py            # replay a day, print, write the costs
    .venv/bin/python bench/bench_budget.py --ticks 720 --no-write

Replays a simulated day with a compressed clock through the real function apps (the combined
app, in process): a dashboard's poll of the live view at every 30-s tick, once with the
simulator as the source and once with a real source (the on-premises API fake); the daily
cron. The backends are real: Redis behind the Upstash REST shim (commands counted by Redis's
``INFO commandstats``, bytes by the shim), PostgreSQL behind the PostgREST emulator as
Supabase (egress: the bytes the emulator answers with; size: ``pg_total_relation_size``).
CPU is ``time.process_time`` per invocation less the CPU the stand-ins for the outside
services spent in this process (the on-premises fake, the shim and the emulator, each timed
with ``time.thread_time`` in its own handler); wall time ``perf_counter``.

Writes the per-operation costs to lib/app/budget_costs.json, which ``python -m lib budget``
multiplies, and prints the monthly table of the default usage with each line's share of its
free-tier limit (goal: at most a third of each) and the most always-open dashboards that fit.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(ROOT))

import httpx
from fastapi.testclient import TestClient

from lib.app.budget import COSTS_FILE, Usage, max_dashboards, monthly
from lib.cache import MemoryCache
from lib.cache.upstash import UpstashCache
from lib.collectors import DummyCollector
from lib.collectors.custom import CustomCollector
from lib.core import DAY, Settings
from lib.sim import Simulator, get_fleet
from lib.store.supabase import SupabaseStore
from lib.web import combined_app, deps
from tests.services import onprem, upstash_shim
from tests.services.commandstats import commands_run, reset_commandstats
from tests.services.onprem import ONPREM_KEY, running_onprem_api
from tests.services.postgres import running_postgres
from tests.services.postgrest import SERVICE_KEY, SUPABASE_URL, PostgrestEmulator
from tests.services.redis import running_redis
from tests.services.upstash_shim import SHIM_TOKEN, running_upstash_shim

SEED = 20240101
DAY0 = 1_718_236_800  # 2024-06-13T00:00:00Z
SECRET = "budget-secret"
FUNCTION_MEMORY_GB = 1.0  # vercel.json: "memory": 1024


class ServiceCpu:
    """CPU seconds the in-process stand-ins for outside services spent: not ours to count."""

    seconds = 0.0
    lock = threading.Lock()

    @classmethod
    def add(cls, seconds: float) -> None:
        with cls.lock:
            cls.seconds += seconds


def _timed(handler: Callable[[Any], None]) -> Callable[[Any], None]:
    def timed(self: Any) -> None:
        began = time.thread_time()
        try:
            handler(self)
        finally:
            ServiceCpu.add(time.thread_time() - began)
    return timed


onprem._Handler.do_GET = _timed(onprem._Handler.do_GET)  # type: ignore[method-assign]
upstash_shim._Handler.do_POST = _timed(  # type: ignore[method-assign]
    upstash_shim._Handler.do_POST)


def our_cpu() -> float:
    """This process's CPU seconds so far, less the stand-ins'."""
    return time.process_time() - ServiceCpu.seconds


class CountingEmulator(PostgrestEmulator):
    """The PostgREST emulator, counting the bytes it answers with (Supabase's egress)."""

    answered = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        began = time.thread_time()
        try:
            response = super().__call__(request)
        finally:
            ServiceCpu.add(time.thread_time() - began)
        self.answered += len(response.content) + sum(len(k) + len(v) + 4 for k, v in
                                                     response.headers.items())
        return response


@contextmanager
def backends() -> Iterator[tuple[Any, Any, CountingEmulator, str]]:
    with running_redis() as redis, running_upstash_shim(redis) as shim, \
            running_postgres() as database:
        emulator = CountingEmulator(database.dsn())
        yield redis, shim, emulator, database.dsn()


def measure_polls(app: Any, client: TestClient, collector: Any, ticks: int, redis: Any,
                  shim: Any) -> dict[str, float]:
    """A dashboard's poll at each of ``ticks`` consecutive ticks, on one warm instance."""
    hot = MemoryCache()
    app.dependency_overrides[deps.provide_hot_cache] = lambda: hot
    app.dependency_overrides[deps.provide_collector] = lambda: collector
    reset_commandstats(redis)
    shim.reset()
    cpu, wall, sizes, snapshot = [], [], [], 0
    for k in range(ticks):
        now = DAY0 + k * 30 + 3
        app.dependency_overrides[deps.provide_now] = lambda now=now: now
        began_cpu, began = our_cpu(), time.perf_counter()
        response = client.get("/api/monitoring/servers", headers={"Accept-Encoding": "gzip"})
        wall.append(time.perf_counter() - began)
        cpu.append(our_cpu() - began_cpu)
        assert response.status_code == 200, response.text
        sizes.append(len(gzip.compress(response.content, 1)) + 350)  # body + headers
        snapshot = max(snapshot, len(response.content))
    commands = sum(commands_run(redis).values())
    shim_bytes = sum(len(json.dumps(r.body)) for r in shim.requests)
    return {"cpu_ms": 1000 * statistics.mean(cpu), "wall_ms": 1000 * statistics.mean(wall),
            "response_bytes": statistics.mean(sizes), "upstash_commands": commands / ticks,
            "upstash_bytes": 2 * shim_bytes / ticks, "supabase_egress_bytes": 0.0,
            "snapshot_bytes": snapshot}


def measure_cron(app: Any, client: TestClient, store: SupabaseStore, emulator: CountingEmulator,
                 redis: Any, shim: Any) -> dict[str, float]:
    """The daily cron: yesterday and today so far into Supabase, pruned, re-cached."""
    app.dependency_overrides[deps.provide_collector] = lambda: DummyCollector(
        Simulator(SEED, get_fleet()))
    app.dependency_overrides[deps.provide_now] = lambda: DAY0 + DAY + 300
    reset_commandstats(redis)
    shim.reset()
    emulator.answered = 0
    began_cpu, began = our_cpu(), time.perf_counter()
    response = client.get("/api/generate-batch", headers={"Authorization": f"Bearer {SECRET}"})
    wall, cpu = time.perf_counter() - began, our_cpu() - began_cpu
    assert response.status_code == 200, response.text
    return {"cpu_ms": 1000 * cpu, "wall_ms": 1000 * wall,
            "response_bytes": len(response.content) + 350,
            "upstash_commands": float(sum(commands_run(redis).values())),
            "upstash_bytes": float(sum(len(json.dumps(r.body)) for r in shim.requests)),
            "supabase_egress_bytes": float(emulator.answered),
            "rows": float(response.json()["rows"])}


def measure_alerts(app: Any, client: TestClient, store: SupabaseStore,
                   emulator: CountingEmulator, redis: Any, shim: Any, minutes: int
                   ) -> dict[str, float]:
    """The alert evaluation an external scheduler calls each minute, ``minutes`` in a row
    (the analysis behind it is recomputed every tenth minute), on Supabase and Upstash."""
    app.dependency_overrides[deps.provide_collector] = lambda: DummyCollector(
        Simulator(SEED, get_fleet()))
    app.dependency_overrides[deps.provide_senders] = lambda: []
    app.dependency_overrides[deps.provide_hot_cache] = lambda: MemoryCache()  # cold instances
    reset_commandstats(redis)
    shim.reset()
    emulator.answered = 0
    cpu, wall, sizes = [], [], []
    for k in range(minutes):
        now = DAY0 + DAY + 10 * 3600 + k * 60 + 5  # from 10:00: a realistic part of today
        app.dependency_overrides[deps.provide_now] = lambda now=now: now
        began_cpu, began = our_cpu(), time.perf_counter()
        response = client.post("/api/alerts/evaluate",
                               headers={"Authorization": f"Bearer {SECRET}"})
        wall.append(time.perf_counter() - began)
        cpu.append(our_cpu() - began_cpu)
        assert response.status_code == 200 and response.json()["evaluated"], response.text
        sizes.append(len(response.content) + 350)
    return {"cpu_ms": 1000 * statistics.mean(cpu), "wall_ms": 1000 * statistics.mean(wall),
            "response_bytes": statistics.mean(sizes),
            "upstash_commands": sum(commands_run(redis).values()) / minutes,
            "upstash_bytes": sum(len(json.dumps(r.body)) for r in shim.requests) / minutes,
            "supabase_egress_bytes": emulator.answered / minutes}


def measure_storage(dsn: str, store: SupabaseStore) -> dict[str, float]:
    """Bytes per stored row and per hourly rollup (tables and indexes), from a stored week."""
    import psycopg

    from lib.app import store_window

    store_window(DummyCollector(Simulator(SEED, get_fleet())), store, DAY0 - 6 * DAY,
                 DAY0 + DAY)
    with psycopg.connect(dsn) as conn:
        def size(table: str) -> tuple[int, int]:
            row = conn.execute(f"SELECT pg_total_relation_size('{table}'), "
                               f"(SELECT count(*) FROM {table})").fetchone()
            assert row is not None
            return int(row[0]), int(row[1])

        metrics, rows = size("daily_metrics")
        history, rollups = size("server_metrics_history")
        fixed = sum(size(t)[0] for t in ("server_templates", "scenario_execution_log"))
    return {"row_bytes": metrics / rows, "rollup_bytes": history / rollups,
            "fixed_bytes": float(fixed), "rows_measured": float(rows),
            "rollups_measured": float(rollups)}


def measure(ticks: int) -> dict[str, Any]:
    with backends() as (redis, shim, emulator, dsn), \
            running_onprem_api(Simulator(SEED, get_fleet()), get_fleet().ids) as api:
        store = SupabaseStore(SUPABASE_URL, SERVICE_KEY, http_client=emulator.client())
        warm = UpstashCache(shim.url, SHIM_TOKEN, timeout=2.0)
        app = combined_app()
        settings = Settings(metrics_seed=SEED, cron_secret=SECRET, alerts_token=SECRET,
                            retention_hours=24 * 7, alerts_on_poll=False)
        app.dependency_overrides.update({
            deps.provide_store: lambda: store, deps.provide_cache: lambda: warm,
            deps.provide_settings: lambda: settings})
        client = TestClient(app)
        simulator = DummyCollector(Simulator(SEED, get_fleet()))
        real = CustomCollector(api.url, ONPREM_KEY, timeout=5.0)
        costs = {
            "poll": measure_polls(app, client, simulator, ticks, redis, shim),
            "poll_real": measure_polls(app, client, real, min(ticks, 240), redis, shim),
            "cron": measure_cron(app, client, store, emulator, redis, shim),
        }
        storage = measure_storage(dsn, store)  # stores a week: the alerts' history
        costs["alerts"] = measure_alerts(app, client, store, emulator, redis, shim,
                                         max(20, ticks // 12))
        compute = _tick_versus_round_trip(simulator, warm)
        real.close()
        warm.close()
    return {"operations": costs, "storage": storage, "function_memory_gb": FUNCTION_MEMORY_GB,
            "measured": {"ticks_replayed": ticks, **compute}}


def _tick_versus_round_trip(collector: DummyCollector, warm: UpstashCache) -> dict[str, float]:
    """A fleet tick computed here against one GET to the (local) Upstash shim, median ms."""
    compute, trip = [], []
    for k in range(50):
        began = time.perf_counter()
        collector.snapshot(None, DAY0 + 30 * k)
        compute.append(time.perf_counter() - began)
        began = time.perf_counter()
        warm.get(f"probe:{k}")
        trip.append(time.perf_counter() - began)
    return {"fleet_tick_ms": 1000 * statistics.median(compute),
            "upstash_get_ms_loopback": 1000 * statistics.median(trip)}


def report(costs: dict[str, Any]) -> None:
    print("| operation | CPU ms | wall ms | response bytes | Upstash commands | Upstash bytes "
          "| Supabase egress bytes |")
    print("|---|---|---|---|---|---|---|")
    for name, op in costs["operations"].items():
        print(f"| {name} | {op['cpu_ms']:.2f} | {op['wall_ms']:.2f} | "
              f"{op['response_bytes']:,.0f} | {op['upstash_commands']:.2f} | "
              f"{op['upstash_bytes']:,.0f} | {op['supabase_egress_bytes']:,.0f} |")
    storage = costs["storage"]
    print(f"\nstorage: {storage['row_bytes']:.0f} bytes per metric row, "
          f"{storage['rollup_bytes']:.0f} per hourly rollup (tables and indexes; from "
          f"{storage['rows_measured']:,.0f} rows and {storage['rollups_measured']:,.0f} rollups)")
    measured = costs["measured"]
    print(f"a fleet tick computed in {measured['fleet_tick_ms']:.2f} ms; one Upstash GET on "
          f"loopback {measured['upstash_get_ms_loopback']:.2f} ms (from Vercel to Upstash: more)")
    for title, usage in (("default usage (simulator)", Usage()),
                         ("default usage, a real source", Usage(real_source=True)),
                         ("default usage, no CDN sharing", Usage(cdn=False))):
        print(f"\nA month of the {title}:\n")
        print("| line | usage | free tier | share | goal (≤ 1/3) |\n|---|---|---|---|---|")
        for line in monthly(usage, costs):
            print(line.text())
        print(f"\nmost always-open dashboards that fit: {max_dashboards(usage, costs):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=2880, help="ticks replayed (a day: 2880)")
    parser.add_argument("--no-write", action="store_true", help="do not update the costs file")
    args = parser.parse_args()
    costs = measure(args.ticks)
    if not args.no_write:
        COSTS_FILE.write_text(json.dumps(costs, indent=2, sort_keys=True) + "\n")
    report(costs)


if __name__ == "__main__":
    main()

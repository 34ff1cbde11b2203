"""Store write/read throughput: one fleet-day and one fleet-week into SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_store                # SQLite + a throwaway local PostgreSQL
    .venv/bin/python -m bench.bench_store --postgres-dsn postgresql://...   # an existing database
    .venv/bin/python -m bench.bench_store --no-postgres

A fleet-day is 20 servers x 144 ten-minute ticks = 2,880 rows (plus a few incidents); a
fleet-week is 20,160 rows. Rows are synthetic but realistic in shape (two-decimal values, a
status mix, some missing response times): a storage benchmark needs the right types and sizes,
not the simulator's patterns. Each workload runs ``--repeat`` times on an emptied store and the
median is printed. Goal (SPEC §7 / the store brief): a fleet-day stored in PostgreSQL in < 0.5 s.

Workloads:
    write day      upsert 2,880 rows + 5 incidents into an empty store
    rewrite day    the same batch again (every row conflicts: the cron's retry path)
    write week     upsert 20,160 rows in one call
    read day       page through one day with 1,000-row keyset pages
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib.core import AffectedServer, Incident, MetricRow, Status
from lib.store import MetricQuery, MetricStore
from lib.store.postgres import PostgresStore
from lib.store.sqlite import SQLiteStore

DAY0 = 1_704_067_200  # 2024-01-01T00:00:00Z
TICK = 600
TICKS_PER_DAY = 144
SERVERS = tuple(
    f"{role}-{n:02d}"
    for role, count in (("web", 6), ("api", 6), ("db", 4), ("cache", 2), ("worker", 2))
    for n in range(1, count + 1)
)
FLEET_DAY_ROWS = len(SERVERS) * TICKS_PER_DAY


def synthetic_rows(days: int, seed: int = 1) -> list[MetricRow]:
    """``days`` fleet-days of plausible rows, ordered by tick then server."""
    rng = random.Random(seed)
    statuses: tuple[Status, ...] = ("healthy",) * 16 + ("warning",) * 3 + ("critical",)
    return [
        MetricRow(
            timestamp=DAY0 + tick * TICK,
            server_id=server,
            cpu=round(rng.uniform(5, 95), 2),
            memory=round(rng.uniform(20, 90), 2),
            disk=round(rng.uniform(30, 80), 2),
            response_time=None if rng.random() < 0.02 else rng.randint(5, 2_000),
            network_rx=round(rng.uniform(100, 90_000), 2),
            network_tx=round(rng.uniform(100, 90_000), 2),
            connections=rng.randint(1, 5_000),
            status=rng.choice(statuses),
        )
        for tick in range(days * TICKS_PER_DAY)
        for server in SERVERS
    ]


def synthetic_incidents(days: int) -> list[Incident]:
    """Five ground-truth records per day, each reaching three servers."""
    incidents = []
    for day in range(days):
        for k in range(5):
            start = DAY0 + day * 86_400 + k * 4 * 3_600
            affected = tuple(
                AffectedServer(SERVERS[(k * 3 + j) % len(SERVERS)], start + j * TICK)
                for j in range(3)
            )
            incidents.append(
                Incident(f"d{day}-i{k}", "cpu_spike", affected[0].server_id, start,
                         start + 3_600, 0.5 + k / 10, affected)
            )
    return incidents


@dataclass
class Result:
    backend: str
    workload: str
    rows: int
    seconds: float

    def line(self) -> str:
        per_day = self.seconds * FLEET_DAY_ROWS / self.rows
        return (
            f"{self.backend:<9} {self.workload:<12} {self.rows:>7,} {self.seconds:>9.4f} "
            f"{self.rows / self.seconds:>11,.0f} {per_day:>13.4f}"
        )


HEADER = (
    f"{'backend':<9} {'workload':<12} {'rows':>7} {'seconds':>9} {'rows/s':>11} "
    f"{'s/fleet-day':>13}"
)


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def _read_all(store: MetricStore, start: int, end: int) -> int:
    seen = 0
    after: tuple[int, str] | None = None
    while page := store.query_metrics(MetricQuery(start=start, end=end, limit=1000, after=after)):
        seen += len(page)
        after = (page[-1].timestamp, page[-1].server_id)
    return seen


def bench_backend(
    backend: str, store: MetricStore, empty: Callable[[], None], repeat: int
) -> list[Result]:
    """Median timings of every workload on one store."""
    day, week = synthetic_rows(1), synthetic_rows(7, seed=2)
    incidents = synthetic_incidents(1)
    timings: dict[str, list[float]] = {"write day": [], "rewrite day": [], "write week": [],
                                       "read day": []}

    def write_day() -> None:
        store.upsert_metrics(day)
        store.upsert_incidents(incidents)

    for _ in range(repeat):
        empty()
        timings["write day"].append(_timed(write_day))
        timings["rewrite day"].append(_timed(write_day))
        empty()
        timings["write week"].append(_timed(lambda: store.upsert_metrics(week)))
        read = _timed(lambda: _read_all(store, DAY0 + 86_400, DAY0 + 2 * 86_400))
        timings["read day"].append(read)
    sizes = {"write day": len(day), "rewrite day": len(day), "write week": len(week),
             "read day": FLEET_DAY_ROWS}
    return [Result(backend, name, sizes[name], statistics.median(t)) for name, t in timings.items()]


@contextmanager
def sqlite_store() -> Iterator[tuple[MetricStore, Callable[[], None]]]:
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as root:
        store = SQLiteStore(os.path.join(root, "bench.sqlite3"))

        def empty() -> None:
            store.delete_metrics(0, 2**40)

        try:
            yield store, empty
        finally:
            store.close()


@contextmanager
def postgres_store(dsn: str | None) -> Iterator[tuple[MetricStore, Callable[[], None]]]:
    with ExitStack() as stack:
        if dsn is None:
            from tests.services.postgres import binaries_available, running_postgres

            if not binaries_available():
                raise SystemExit(
                    "PostgreSQL binaries not found; use --postgres-dsn or --no-postgres"
                )
            dsn = stack.enter_context(running_postgres()).dsn()
        store = PostgresStore(dsn)
        stack.callback(store.close)

        def empty() -> None:
            store.delete_metrics(0, 2**40)

        yield store, empty


def main(argv: list[str] | None = None) -> None:
    """Run the workloads and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per workload (median shown)")
    parser.add_argument("--postgres-dsn", help="bench this database instead of a throwaway one")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)

    print(HEADER)
    with sqlite_store() as (store, empty):
        for result in bench_backend("sqlite", store, empty, args.repeat):
            print(result.line())
    if not args.no_postgres:
        with postgres_store(args.postgres_dsn) as (store, empty):
            for result in bench_backend("postgres", store, empty, args.repeat):
                print(result.line())


if __name__ == "__main__":
    main()

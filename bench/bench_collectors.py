"""Collector timings: the whole fleet's snapshot and a one-day window, per COLLECTOR_MODE.

    .venv/bin/python -m bench.bench_collectors                  # every source
    .venv/bin/python -m bench.bench_collectors --only dummy     # one source (repeatable)

Each source is set up locally, then every operation runs ``--repeat`` times; the table shows
the median and the first (cold) call. Operations:

    servers        list the fleet's templates
    snapshot       every server's metrics at one instant (what /api/monitoring/servers needs)
    day window     the last complete UTC day at the 600-second history grid (144 ticks × the
                   fleet: what the daily batch collects)

Sources:
    dummy          the simulator in-process (default fleet, 20 servers).
    prometheus     a real local Prometheus holding the simulated fleet as it would after a day
                   of scraping /api/prometheus every 60 s: yesterday is backfilled from
                   ``render_exposition`` at every minute (OpenMetrics with timestamps,
                   ``promtool tsdb create-blocks-from openmetrics``; ~1.2 M samples), and the
                   same Prometheus scrapes ``python -m lib serve`` live every second, so the
                   snapshot reads live data at "now" and the day window reads the backfill.
                   The collector's rate window is 180 s (three 60-second scrapes).

    custom         the tests' on-premises API (tests/services/onprem.py) serving the simulated
                   fleet over loopback HTTP, read by CustomCollector.

Add a source by writing a context manager that yields a ``Source`` and listing it in
``SOURCES``; its rows join the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib.collectors import Collector, DummyCollector
from lib.core import DAY, day_start
from lib.sim import DEFAULT_STEP, Simulator, get_fleet
from lib.sim.exposition import render_exposition

SEED = 20240101
TIMEZONE = "Asia/Seoul"
BACKFILL_INTERVAL = 60


@dataclass
class Source:
    """A collector ready to be timed, and what to ask it."""

    mode: str
    collector: Collector
    snapshot_at: int
    day: tuple[int, int]      # [start, end) of the one-day window
    note: str = ""


@dataclass
class Row:
    mode: str
    operation: str
    items: int
    median: float
    first: float
    note: str

    def line(self) -> str:
        return (f"{self.mode:<11} {self.operation:<11} {self.items:>6,} {self.median * 1e3:>10.1f}"
                f" {self.first * 1e3:>10.1f}  {self.note}")


HEADER = f"{'mode':<11} {'operation':<11} {'rows':>6} {'median ms':>10} {'first ms':>10}  note"


def simulator() -> Simulator:
    return Simulator(SEED, get_fleet("default"), TIMEZONE)


def yesterday(now: float) -> tuple[int, int]:
    today = day_start(int(now))
    return today - DAY, today


# --- sources -------------------------------------------------------------------------------


@contextmanager
def dummy_source(args: argparse.Namespace) -> Iterator[Source]:
    now = time.time()
    yield Source("dummy", DummyCollector(simulator()), int(now), yesterday(now), "in-process")


def write_backfill(sim: Simulator, start: int, end: int, path: Path) -> int:
    """The fleet's exposition at every BACKFILL_INTERVAL of [start, end) as one OpenMetrics
    file with timestamps (families contiguous, as OpenMetrics requires); returns samples."""
    kinds: dict[str, tuple[str, str]] = {}
    chunks: dict[str, list[str]] = {}
    samples = 0
    for t in range(start, end, BACKFILL_INTERVAL):
        family, lines = "", []
        suffix = f" {t}\n"
        for line in render_exposition(sim, t).decode().splitlines():
            if line.startswith("# HELP "):
                continue
            if line.startswith("# TYPE "):
                if lines:
                    chunks[family].append("".join(lines))
                _, _, family, kind = line.split(" ", 3)
                kinds.setdefault(family, (kind, family))
                chunks.setdefault(family, [])
                lines = []
            elif line:
                lines.append(line + suffix)
                samples += 1
        chunks[family].append("".join(lines))
    with path.open("w") as out:
        for family, (kind, _) in kinds.items():
            name = family.removesuffix("_total") if kind == "counter" else family
            out.write(f"# TYPE {name} {kind}\n")
            out.writelines(chunks[family])
        out.write("# EOF\n")
    return samples


@contextmanager
def prometheus_source(args: argparse.Namespace) -> Iterator[Source]:
    from lib.collectors.prometheus import PrometheusCollector
    from tests.services.prometheus import (
        binaries_available,
        running_local_api,
        running_prometheus,
        wait_for_samples,
    )

    if not binaries_available() or shutil.which("promtool") is None:
        raise SystemExit("prometheus, promtool and prometheus-node-exporter are needed "
                         "(Debian packages prometheus, prometheus-node-exporter)")
    now = time.time()
    day = yesterday(now)
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as root:
        data, om = Path(root) / "data", Path(root) / "fleet.om"
        began = time.perf_counter()
        # From a few scrapes before the day: the first tick's rate window needs samples too.
        samples = write_backfill(simulator(), day[0] - 4 * BACKFILL_INTERVAL, day[1], om)
        wrote = time.perf_counter() - began
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                        str(om), str(data)], check=True)
        om.unlink()
        sys.stderr.write(f"backfilled {samples:,} samples in {time.perf_counter() - began:.1f}s "
                         f"(render {wrote:.1f}s)\n")
        settings = {"METRICS_SEED": str(SEED), "FLEET_PROFILE": "default",
                    "FLEET_TIMEZONE": TIMEZONE, "COLLECTOR_MODE": "dummy",
                    "METRICS_STORE": "sqlite", "CACHE_BACKEND": "memory"}
        with running_local_api(settings) as api, running_prometheus(
            [api], job="fleet", metrics_path="/api/prometheus", honor_labels=True, storage=data
        ) as server:
            wait_for_samples(server, 'up{job="fleet"}', 5, timeout=60)
            collector = PrometheusCollector(server.url, rate_window=3 * BACKFILL_INTERVAL)
            try:
                yield Source("prometheus", collector, int(time.time()), day,
                             f"local Prometheus; day = {samples:,} backfilled samples")
            finally:
                collector.close()


@contextmanager
def custom_source(args: argparse.Namespace) -> Iterator[Source]:
    """The local on-premises API of the tests (a thread in this process) serving the fleet."""
    from lib.collectors.custom import CustomCollector
    from tests.services.onprem import LATEST_AT, ONPREM_KEY, running_onprem_api

    sim = simulator()
    # The reference API's "now" is fixed (LATEST_AT): it serves history up to that instant.
    with running_onprem_api(sim, sim.fleet.ids) as onprem:
        collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=10.0)
        try:
            yield Source("custom", collector, LATEST_AT, yesterday(LATEST_AT),
                         "local on-prem API (thread in this process), 8 workers")
        finally:
            collector.close()


SOURCES: dict[str, Callable[[argparse.Namespace], AbstractContextManager[Source]]] = {
    "dummy": dummy_source,
    "custom": custom_source,
    "prometheus": prometheus_source,
}


# --- timing --------------------------------------------------------------------------------


def timed(action: Callable[[], object], repeat: int) -> tuple[int, float, float]:
    """(items returned, median seconds, first-call seconds)."""
    times, items = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
        items = len(result) if isinstance(result, list) else 0
    return items, statistics.median(times), times[0]


def bench_source(source: Source, repeat: int) -> list[Row]:
    c = source.collector
    operations: dict[str, Callable[[], object]] = {
        "servers": c.servers,
        "snapshot": lambda: c.snapshot(None, source.snapshot_at),
        "day window": lambda: c.window(*source.day, DEFAULT_STEP),
    }
    return [Row(source.mode, name, *timed(op, repeat), source.note)
            for name, op in operations.items()]


def main(argv: list[str] | None = None) -> None:
    """Set up each source, time its operations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation")
    parser.add_argument("--only", action="append", choices=sorted(SOURCES),
                        help="bench only this source (repeatable)")
    args = parser.parse_args(argv)
    rows = []
    for name in args.only or SOURCES:
        with SOURCES[name](args) as source:
            rows.extend(bench_source(source, args.repeat))
    print(HEADER)
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()

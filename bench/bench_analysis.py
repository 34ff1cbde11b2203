"""Analysis speed: rows in, incidents out, for a fleet-day and for 30 days of the hybrid fleet.

    .venv/bin/python bench/bench_analysis.py [--repeat 5] [--seed 11]

Rows come from the simulator (seed 11, not the default) and are converted to metric rows
first, as a collector would deliver them; the timed part is ``Panel.from_rows`` plus the
whole analysis (baselines, detection, incidents, root cause, pattern). Each workload runs
``--repeat`` times and the median is printed, with the share spent turning rows into arrays.
Goals: one fleet-day ≤ 200 ms; 30 days of the hybrid fleet ≤ 3 s.

Workloads:
    day 600 s       default fleet, 1 day at the stored 10-minute step (2,880 rows)
    day 600 s       hybrid fleet, 1 day (4,320 rows)
    30 days 600 s   hybrid fleet, 30 days (129,600 rows)
    day 30 s        default fleet, 1 day at the live 30-s step (57,600 rows)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib.analysis import Panel, analyze_panel
from lib.app.evaluation import fleet_roles
from lib.core import MetricRow
from lib.sim import Simulator, get_fleet

START = 1_718_236_800  # 2024-06-13T00:00:00Z
DAY = 86_400
WORKLOADS = (("default", 1, 600), ("hybrid", 1, 600), ("hybrid", 30, 600), ("default", 1, 30))


def rows_of(seed: int, fleet: str, days: int, step: int) -> list[MetricRow]:
    sim = Simulator(seed, get_fleet(fleet))
    return [r for f in sim.frames(START, START + days * DAY, step) for r in f.rows()]


def run(rows: list[MetricRow], roles: dict[str, str]) -> tuple[float, float, int]:
    """(seconds in total, seconds for rows → panel, incidents found)."""
    t0 = time.perf_counter()
    panel = Panel.from_rows(rows)
    t1 = time.perf_counter()
    found = analyze_panel(panel, roles).incidents
    return time.perf_counter() - t0, t1 - t0, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"{'workload':28s}{'rows':>10s}{'median':>10s}{'rows→grid':>11s}{'incidents':>11s}")
    for fleet, days, step in WORKLOADS:
        rows = rows_of(args.seed, fleet, days, step)
        roles = fleet_roles(fleet)
        runs = [run(rows, roles) for _ in range(args.repeat)]
        total = statistics.median(r[0] for r in runs)
        grid = statistics.median(r[1] for r in runs)
        label = f"{fleet}, {days} day{'s' if days > 1 else ''}, {step} s"
        print(f"{label:28s}{len(rows):>10,d}{total * 1000:>8.0f} ms{grid * 1000:>8.0f} ms"
              f"{runs[0][2]:>11d}")


if __name__ == "__main__":
    main()

"""The alerting scorecard pooled over seeds and both fleets, against the goals.

    .venv/bin/python bench/bench_alerts.py [--seeds 31 4099] [--days 30] [--json FILE]

Each (seed, fleet) is one ``python -m lib evaluate --alerts`` run (lib.app.alert_replay):
the whole engine tick by tick at the 10-minute step over --days from a start that is not
on a day boundary (2024-05-07T03:20Z: the rows' timestamps shifted against the days the
engine was written on), each with seven days of history. Counts are summed over runs; the
resolved delay is the median of the runs' medians. Definitions: docs/alerts.md
("Scoring"). The default seeds are ones the engine was never tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from multiprocessing import Pool

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib.app.alert_replay import AlertCard, evaluate_alerts
from lib.core import format_iso

DAY = 86_400
START = 1_715_052_000  # 2024-05-07T03:20:00Z

Job = tuple[int, str, int]  # seed, fleet, days


def run(job: Job) -> AlertCard:
    seed, fleet, days = job
    return evaluate_alerts(START, START + days * DAY, seed, fleet)


def pooled(cards: list[AlertCard]) -> list[tuple[str, str, float, bool]]:
    """(measure, shown value, value, goal met) over every card."""
    s = [c.score for c in cards]
    incidents = sum(x.incidents for x in s)
    notified = sum(x.notified for x in s)
    counted = sum(x.per_incident * x.notified for x in s)
    raw, ours = sum(x.raw_threshold_alerts for x in s), sum(x.notifications for x in s)
    flaps = sum(x.flaps_per_incident * x.incidents for x in s)
    quiet_days = sum(x.quiet_server_days for x in s)
    quiet = sum(x.quiet_notifications for x in s)
    delay = statistics.median(x.resolved_delay_median for x in s)
    within = sum(x.resolved_within_one_tick * x.notified for x in s) / max(notified, 1)
    rows = [
        ("ground-truth incidents notified (100 %)", f"{notified / incidents:.3f} "
         f"({notified}/{incidents})", notified / incidents, notified == incidents),
        ("notifications per incident (≤ 1.5)", f"{counted / notified:.2f}",
         counted / notified, counted / notified <= 1.5),
        ("reduction vs raw threshold alerts (≥ 10×)", f"{raw / ours:.1f}× ({raw} / {ours})",
         raw / ours, raw / ours >= 10),
        ("resolved after the true end, median ticks (≤ 1)",
         f"{delay:.2f} (within 1 tick: {within:.2f})", delay, delay <= 1),
        ("flaps per incident (≤ 0.1)", f"{flaps / incidents:.3f}", flaps / incidents,
         flaps / incidents <= 0.1),
        ("notifications per quiet server-day (≤ 0.05)",
         f"{quiet / quiet_days:.4f} ({quiet}/{quiet_days})", quiet / quiet_days,
         quiet / quiet_days <= 0.05),
    ]
    for pattern in ("cascade_failure", "db_lock"):
        n = sum(x.origin_counts.get(pattern, 0) for x in s)
        hit = sum(x.origin_named.get(pattern, 0.0) * x.origin_counts.get(pattern, 0)
                  for x in s)
        share = hit / n if n else 0.0
        rows.append((f"{pattern}: first notification names the origin (≥ 0.90)",
                     f"{share:.3f} (n={n})", share, share >= 0.9))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[31, 4099])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="also write the cards here")
    args = parser.parse_args(argv)
    jobs = [(seed, fleet, args.days) for seed in args.seeds for fleet in ("default", "hybrid")]
    with Pool(args.jobs) as pool:
        cards = pool.map(run, jobs)
    print(f"alerts scorecard: {format_iso(START)} + {args.days} days, step 600 s, seeds "
          f"{' '.join(map(str, args.seeds))}, both fleets\n")
    print("| seed | fleet | incidents | notified | per incident | reduction | resolved "
          "(ticks) | flaps | quiet rate | cascade origin | db_lock origin |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for card in cards:
        x = card.score
        print(f"| {card.seed} | {card.fleet} | {x.incidents} | {x.notified_share:.3f} | "
              f"{x.per_incident:.2f} | {x.reduction:.1f}× | {x.resolved_delay_median:.2f} | "
              f"{x.flaps_per_incident:.3f} | {x.quiet_rate:.4f} | "
              f"{x.origin_named.get('cascade_failure', 0):.2f} | "
              f"{x.origin_named.get('db_lock', 0):.2f} |")
    print("\npooled:\n\n| measure (goal) | value | goal |\n|---|---|---|")
    for name, shown, _, met in pooled(cards):
        print(f"| {name} | {shown} | {'met' if met else 'NOT MET'} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([c.as_dict() for c in cards], out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

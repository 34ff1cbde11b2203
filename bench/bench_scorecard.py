"""The analysis scorecard pooled over seeds, by fleet and step, for ours and both baselines.

    .venv/bin/python bench/bench_scorecard.py [--seeds 2024 777 9001] [--days 40]
                                              [--days-30s 20] [--json FILE]

Each (seed, fleet, step) is one ``lib.app.evaluation.evaluate`` run (as ``python -m lib
evaluate``): 10-minute windows of --days from 2024-04-01, 30-s windows of --days-30s from
2024-08-02, each with seven days of history before it. The cards of one fleet and step are
pooled: counts are summed, AC@k weighted by matched incidents, the onset-given figures by
ground truths, delays are the median over every detected incident. Definitions:
docs/analysis.md ("Scoring"). Seeds default to ones the analysis was never tuned on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from multiprocessing import Pool
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from lib.analysis.scoring import pattern_scores
from lib.app.evaluation import Scorecard, evaluate

DAY = 86_400
START_600 = 1_711_929_600  # 2024-04-01T00:00:00Z
START_30 = 1_722_556_800   # 2024-08-02T00:00:00Z
METHODS = ("ours", "NSigma", "RobustScorer")
FAST = ("cpu_spike", "network_latency", "db_lock", "cascade_failure")
SLOW = ("memory_leak", "disk_full", "gradual_degradation")

Job = tuple[int, str, int, int, int]  # seed, fleet, start, days, step


def run(job: Job) -> tuple[Job, Scorecard]:
    seed, fleet, start, days, step = job
    return job, evaluate(start, start + days * DAY, seed, fleet, step)


def pool(cards: Sequence[Scorecard]) -> dict[str, dict[str, Any]]:
    """One row of pooled figures per method."""
    out: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(METHODS):
        methods = [c.methods[index] for c in cards]
        events = [m.events for m in methods]
        truths = sum(e.truths for e in events)
        detections = sum(e.detections for e in events)
        matched = sum(e.matched for e in events)
        server_days = sum(c.servers * (c.end - c.start) / DAY for c in cards)
        precision = matched / detections if detections else 0.0
        recall = matched / truths if truths else 0.0
        row: dict[str, Any] = {
            "truths": truths, "detections": detections, "matched": matched,
            "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "false_per_server_day": (detections - matched) / server_days,
        }
        for k in range(5):
            row[f"ac{k + 1}"] = (sum(e.ac[k] * e.matched for e in events) / matched
                                 if matched else 0.0)
        row["avg5"] = float(np.mean([row[f"ac{k + 1}"] for k in range(5)]))
        for pattern in ("cascade_failure", "db_lock"):
            counts = [len(e.delays.get(pattern, [])) for e in events]
            row[f"ac1_{pattern}"] = sum(e.ac1_by_pattern.get(pattern, 0.0) * n
                                        for e, n in zip(events, counts, strict=True)
                                        ) / max(sum(counts), 1)
            given = [e.truths_by_pattern.get(pattern, 0) for e in events]
            row[f"given_ac1_{pattern}"] = sum(m.given_by_pattern.get(pattern, 0.0) * n
                                              for m, n in zip(methods, given, strict=True)
                                              ) / max(sum(given), 1)
        row["shifted_ac1"] = sum(m.shifted["all"] * e.truths
                                 for m, e in zip(methods, events, strict=True)) / truths
        pairs = [(true, predicted) for e in events for true, predicted_counts
                 in e.confusion.items() for predicted, n in predicted_counts.items()
                 for _ in range(n)]
        row["pattern_f1"], row["pattern_f1_by"], _ = pattern_scores(pairs)
        delays: dict[str, list[float]] = {}
        for e in events:
            for pattern, values in e.delays.items():
                delays.setdefault(pattern, []).extend(values)
        row["delay"] = {p: float(np.median(v)) for p, v in sorted(delays.items()) if v}
        row["seconds"] = sum(m.seconds for m in methods)
        out[name] = row
    return out


def _f(value: float) -> str:
    return f"{value:.3f}"


def _gain(methods: dict[str, dict[str, Any]]) -> float:
    ours, robust = methods["ours"], methods["RobustScorer"]
    return float(ours["given_ac1_cascade_failure"] - robust["given_ac1_cascade_failure"])


def table(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown: one column per fleet and step, cells ours / NSigma / RobustScorer."""
    keys = list(summary)

    def cells(measure: str, fmt: Any = _f) -> str:
        return " | ".join(" / ".join(fmt(summary[k][m][measure]) for m in METHODS)
                          for k in keys)

    def ours(fmt: Any) -> str:
        return " | ".join(fmt(summary[k]["ours"]) for k in keys)

    lines = [f"| measure (goal) | {' | '.join(keys)} |", "|---" * (len(keys) + 1) + "|",
             f"| event F1 (≥ 0.90) | {cells('f1')} |",
             f"| false incidents per server-day (≤ 0.05) | {cells('false_per_server_day')} |",
             f"| AC@1 (≥ 0.90) | {cells('ac1')} |",
             f"| AC@3 (≥ 0.98) | {cells('ac3')} |",
             f"| Avg@5 | {cells('avg5')} |",
             f"| AC@1 cascade_failure (≥ 0.85) | {cells('ac1_cascade_failure')} |",
             f"| AC@1 db_lock (≥ 0.85) | {cells('ac1_db_lock')} |",
             f"| AC@1, onset given ±3 ticks off (≥ 0.85) | {cells('shifted_ac1')} |",
             "| cascades, onset given: ours − RobustScorer (≥ +0.30) | "
             + " | ".join(f"{_gain(summary[k]):+.2f}" for k in keys) + " |",
             f"| pattern macro-F1 (≥ 0.90) | {ours(lambda r: _f(r['pattern_f1']))} |"]
    for group, goal in ((FAST, 2), (SLOW, 6)):
        lines.append(f"| median delay, ticks: {', '.join(group)} (≤ {goal}) | " + ours(
            lambda r, group=group: ", ".join(f"{r['delay'].get(p, float('nan')):.1f}"
                                             for p in group)) + " |")
    lines.append("| truths / detections (ours) | "
                 + ours(lambda r: f"{r['truths']} / {r['detections']}") + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2024, 777, 9001])
    parser.add_argument("--days", type=int, default=40, help="days per seed at 600 s")
    parser.add_argument("--days-30s", type=int, default=20, help="days per seed at 30 s")
    parser.add_argument("--json", help="also write the pooled figures here")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    jobs: list[Job] = [(s, f, START_600, args.days, 600) for s in args.seeds
                       for f in ("default", "hybrid")]
    jobs += [(s, f, START_30, args.days_30s, 30) for s in args.seeds
             for f in ("default", "hybrid")]
    with Pool(args.processes) as workers:
        results = workers.map(run, jobs, chunksize=1)
    summary = {}
    for step in (600, 30):
        for fleet in ("default", "hybrid"):
            cards = [card for job, card in results if job[1] == fleet and job[4] == step]
            summary[f"{fleet} {step} s"] = pool(cards)
    print(f"seeds {' '.join(map(str, args.seeds))}; {args.days} days per seed at 600 s, "
          f"{args.days_30s} at 30 s; cells: ours / NSigma / RobustScorer\n")
    print(table(summary))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=1, default=float)


if __name__ == "__main__":
    main()

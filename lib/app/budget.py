"""A month of usage against the free tiers: ``python -m lib budget``.

The per-operation costs come from ``bench/bench_budget.py``, which replays a simulated day
through the real function apps (Redis behind the Upstash shim, a real PostgreSQL) and writes
them to ``budget_costs.json`` beside this module. This module only multiplies.

The usage model:

* **Dashboards** poll the live view on the 30-s tick grid while visible (``--poll-seconds``).
  Every poll is a CDN request carrying the view (a new tick: a changed body). Polls of one
  tick share one function invocation: the view is cached by Vercel's CDN for 5 s
  (``s-maxage``) and dashboards poll at the tick, so the function runs once per tick while
  anyone watches. ``cdn=False`` counts one invocation per poll instead (the worst case).
* **Alerts** are evaluated every ``--alerts-every`` seconds by an external scheduler.
* **The cron** runs the batch once a day.
* **Storage** holds ``RETENTION_HOURS`` of rows and ``HISTORY_RETENTION_DAYS`` of hourly
  rollups; a snapshot key in Upstash lives two ticks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["COSTS_FILE", "LIMITS", "Line", "Usage", "load_costs", "max_dashboards", "monthly"]

COSTS_FILE = Path(__file__).with_name("budget_costs.json")
DAYS = 30
TICK = 30

# Free tiers as we write (Vercel Hobby, Upstash free, Supabase free).
LIMITS: dict[str, tuple[str, float, str]] = {
    "vercel_invocations": ("Vercel: function invocations", 1_000_000, ""),
    "vercel_cpu": ("Vercel: active CPU", 4.0, "h"),
    "vercel_memory": ("Vercel: provisioned memory", 360.0, "GB-h"),
    "vercel_transfer": ("Vercel: data transfer", 100.0, "GB"),
    "upstash_commands": ("Upstash: commands", 500_000, ""),
    "upstash_storage": ("Upstash: storage", 256.0, "MB"),
    "upstash_bandwidth": ("Upstash: bandwidth", 10.0, "GB"),
    "supabase_size": ("Supabase: database size", 500.0, "MB"),
    "supabase_egress": ("Supabase: egress", 5.0, "GB"),
}


@dataclass(frozen=True)
class Usage:
    """A month of use: dashboards, alert evaluations, the cron, and the source."""

    always_open: int = 1          # dashboards open around the clock
    viewers: int = 10             # people who look during their working hours
    viewer_hours: float = 8.0
    poll_seconds: int = 30
    alerts_every: int = 60        # seconds between alert evaluations; 0: none
    real_source: bool = False     # a real collector instead of the simulator
    cdn: bool = True              # polls of one tick share an invocation (see the docstring)
    retention_hours: int = 168
    history_retention_days: int = 90
    servers: int = 20


@dataclass(frozen=True)
class Line:
    key: str
    value: float

    @property
    def label(self) -> str:
        return LIMITS[self.key][0]

    @property
    def limit(self) -> float:
        return LIMITS[self.key][1]

    @property
    def share(self) -> float:
        return self.value / self.limit

    def text(self) -> str:
        _, limit, unit = LIMITS[self.key]
        return (f"| {self.label} | {_number(self.value)} {unit} | {_number(limit)} {unit} | "
                f"{100 * self.share:.1f} % | {'ok' if self.share <= 1 / 3 else 'OVER 1/3'} |")


def load_costs(path: Path = COSTS_FILE) -> dict[str, Any]:
    """The per-operation costs bench/bench_budget.py measured."""
    costs: dict[str, Any] = json.loads(path.read_text())
    return costs


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if value < 10 else f"{value:,.1f}"


def monthly(usage: Usage, costs: dict[str, Any]) -> list[Line]:
    """Every line of the free tiers for a month of ``usage``."""
    ops = costs["operations"]
    poll = ops["poll_real" if usage.real_source else "poll"]
    ticks = DAYS * 86_400 // TICK if usage.always_open else DAYS * 3600 * usage.viewer_hours / TICK
    polls = (usage.always_open * DAYS * 86_400 + usage.viewers * DAYS * usage.viewer_hours * 3600
             ) / usage.poll_seconds
    served = ticks if usage.cdn else polls
    alerts = DAYS * 86_400 / usage.alerts_every if usage.alerts_every else 0
    alert = ops.get("alerts")
    runs = [(poll, served), (ops["cron"], DAYS)]
    if alert is not None:
        runs.append((alert, alerts))
    invocations = sum(n for _, n in runs)
    cpu_hours = sum(op["cpu_ms"] * n for op, n in runs) / 3.6e6
    gb_hours = sum(op["wall_ms"] * n for op, n in runs) / 3.6e6 * costs["function_memory_gb"]
    transfer = (polls * poll["response_bytes"] + sum(op["response_bytes"] * n for op, n in
                                                     runs[1:])) / 1e9
    commands = sum(op["upstash_commands"] * n for op, n in runs)
    upstash_bytes = sum(op["upstash_bytes"] * n for op, n in runs) / 1e9
    rows = usage.servers * usage.retention_hours * 3600 / 600
    rollups = usage.servers * usage.history_retention_days * 24
    storage = costs["storage"]
    size = (rows * storage["row_bytes"] + rollups * storage["rollup_bytes"]
            + storage["fixed_bytes"]) / 1e6
    egress = sum(op["supabase_egress_bytes"] * n for op, n in runs) / 1e9
    return [
        Line("vercel_invocations", invocations), Line("vercel_cpu", cpu_hours),
        Line("vercel_memory", gb_hours), Line("vercel_transfer", transfer),
        Line("upstash_commands", commands),
        Line("upstash_storage", 2 * poll["snapshot_bytes"] / 1e6 if usage.real_source else 0.0),
        Line("upstash_bandwidth", upstash_bytes),
        Line("supabase_size", size), Line("supabase_egress", egress),
    ]


def max_dashboards(usage: Usage, costs: dict[str, Any]) -> int:
    """The most always-open dashboards (besides the viewers) for which every line fits."""
    low, high = 0, 1
    while all(line.share <= 1 for line in monthly(_with(usage, high), costs)) and high < 10**7:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if all(line.share <= 1 for line in monthly(_with(usage, middle), costs)):
            low = middle
        else:
            high = middle
    return low


def _with(usage: Usage, always_open: int) -> Usage:
    from dataclasses import replace

    return replace(usage, always_open=always_open)

"""The alert engine replayed over a past window (``python -m lib alerts replay``) and scored
against the ground truth (``python -m lib evaluate --alerts``).

Like lib.app.evaluation this module may see the simulator: it generates the rows (with a
warm-up before the window for the baselines) and the truth, and gives the engine the rows
only. The engine's view of each tick is built from the data up to that tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lib.alerts import Notification
from lib.alerts.engine import EngineState
from lib.alerts.replay import Replay, replay
from lib.alerts.rules import RuleSet, default_rules
from lib.alerts.scorecard import AlertScore, score_alerts
from lib.analysis import BaselineConfig, DetectorConfig, Panel, detect
from lib.core import MetricRow, format_iso

from .evaluation import generate

__all__ = ["AlertCard", "evaluate_alerts", "notification_line", "replay_rows",
           "replay_window"]


def _sigma(panel: Panel, rules: RuleSet) -> Any:
    """The mean/σ detection the ``sigma`` adaptive rules read, when a rule asks for it."""
    if not rules.needs_sigma_baseline:
        return None
    return detect(panel, DetectorConfig(baseline=BaselineConfig(mode="adaptive")))


def replay_panel(panel: Panel, roles: Mapping[str, str], start: int, end: int,
                 rules: RuleSet | None = None) -> Replay:
    rules = rules or default_rules()
    return replay(detect(panel), roles, rules, start, end, sigma=_sigma(panel, rules))


def replay_window(start: int, end: int, seed: int, fleet: str = "default", step: int = 600,
                  warmup_days: int = 7, timezone: str = "Asia/Seoul",
                  rules: RuleSet | None = None) -> Replay:
    """The engine over simulated [start, end), with ``warmup_days`` of history first."""
    data = generate(seed, fleet, start, end, step, warmup_days, timezone)
    return replay_panel(data.panel, data.roles, start, end, rules)


def replay_rows(rows: Iterable[MetricRow], roles: Mapping[str, str], step: int | None = None,
                rules: RuleSet | None = None) -> Replay:
    """The engine over every tick of ``rows`` (the first days serve as history)."""
    panel = Panel.from_rows(rows, step)
    if not panel.server_ids:
        return Replay([], [], EngineState())
    ts = panel.timestamps
    return replay_panel(panel, roles, int(ts[0]), int(ts[-1]) + panel.step, rules)


def notification_line(n: Notification) -> dict[str, object]:
    """One JSON line of ``alerts replay``."""
    return {"status": n.status, "group_key": n.group_key, "at": format_iso(n.at),
            "origin": n.origin, "pattern": n.pattern, "servers": list(n.servers),
            "severity": n.severity, "labels": n.labels, "reason": n.reason, "seq": n.seq}


@dataclass(frozen=True)
class AlertCard:
    start: int
    end: int
    seed: int
    fleet: str
    step: int
    score: AlertScore

    def as_dict(self) -> dict[str, object]:
        return {"start": format_iso(self.start), "end": format_iso(self.end),
                "seed": self.seed, "fleet": self.fleet, "step": self.step,
                **self.score.as_dict()}

    def table(self) -> str:
        s = self.score
        rows = [
            ("ground-truth incidents notified (100 %)", f"{s.notified_share:.3f} "
             f"({s.notified}/{s.incidents})"),
            ("notifications per incident (≤ 1.5)", f"{s.per_incident:.2f}"),
            ("reduction vs raw threshold alerts (≥ 10×)", f"{s.reduction:.1f}× "
             f"({s.raw_threshold_alerts} raw / {s.notifications} ours)"),
            ("resolved after the true end, median ticks (≤ 1)",
             f"{s.resolved_delay_median:.2f} (within 1 tick: {s.resolved_within_one_tick:.2f})"),
            ("flaps per incident (≤ 0.1)", f"{s.flaps_per_incident:.3f}"),
            ("notifications per quiet server-day (≤ 0.05)",
             f"{s.quiet_rate:.4f} ({s.quiet_notifications}/{s.quiet_server_days})"),
            *((f"{p}: first notification names the origin (≥ 0.90)",
               f"{v:.3f} (n={s.origin_counts.get(p, 0)})") for p, v in s.origin_named.items()),
        ]
        head = (f"alerts {format_iso(self.start)} – {format_iso(self.end)}, seed {self.seed}, "
                f"{self.fleet} fleet, step {self.step} s")
        return "\n".join([head, "", "| measure (goal) | value |", "|---|---|",
                          *(f"| {k} | {v} |" for k, v in rows)])


def evaluate_alerts(start: int, end: int, seed: int, fleet: str = "default", step: int = 600,
                    warmup_days: int = 7, rules: RuleSet | None = None) -> AlertCard:
    """The alerting scorecard of simulated [start, end) (docs/alerts.md, "Scoring")."""
    data = generate(seed, fleet, start, end, step, warmup_days)
    result = replay_panel(data.panel, data.roles, start, end, rules)
    score = score_alerts(result.notifications, result.transitions, data.truths, (start, end),
                         step, sorted(data.roles))
    return AlertCard(start, end, seed, fleet, step, score)

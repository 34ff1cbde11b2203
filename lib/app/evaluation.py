"""The analysis scored against the simulator's ground truth, beside two published baselines.

This module may see the simulator (``lib.analysis`` may not): it generates a window's rows
and ground truth, hands the rows — only the rows — to the analysis and to NSigma and
RobustScorer, and scores all three with ``lib.analysis.scoring`` (definitions in
docs/analysis.md). ``analyze`` is the entry point of ``python -m lib analyze``.

The analysis gets ``warmup_days`` of history before the scored window, as a deployed monitor
would have; incidents that start in the warm-up are scored for no one.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from lib.analysis import AnalysisConfig, Panel, analyze_panel, analyze_rows, channels
from lib.analysis.baselines import BaselineMethod, detect_baseline, rank_baseline
from lib.analysis.scoring import Score, accuracy_at, score
from lib.core import DAY, STATUSES, Incident, MetricRow, format_iso, parse_instant
from lib.sim import Simulator, get_fleet

__all__ = [
    "EvaluationData",
    "MethodCard",
    "Scorecard",
    "analyze",
    "analyze_window",
    "evaluate",
    "fleet_roles",
    "generate",
    "read_rows",
]

SHIFTS = (-3, 3)  # ticks by which the onset given to the rankers is off
ISOLATION = 3600  # a truth is isolated when no other one starts this close


@dataclass(frozen=True)
class EvaluationData:
    """A generated window: the panel (with warm-up), the ground truth, the roles."""

    panel: Panel
    truths: list[Incident]
    roles: dict[str, str]
    start: int
    end: int
    seed: int
    fleet: str


def fleet_roles(fleet: str) -> dict[str, str]:
    """server id → role, from the fleet's server templates."""
    return {s.id: s.role for s in get_fleet(fleet).servers}


def generate(
    seed: int, fleet: str, start: int, end: int, step: int, warmup_days: int = 7,
    timezone: str = "Asia/Seoul",
) -> EvaluationData:
    """Simulated rows of [start − warm-up, end) as a panel, and the ground truth."""
    sim = Simulator(seed, get_fleet(fleet), timezone)
    first = start - warmup_days * DAY
    frames = list(sim.frames(first, end, step))
    values = {m: np.concatenate([getattr(f, m) for f in frames]) for m in (
        "cpu", "memory", "disk", "response_time", "network_rx", "network_tx", "connections")}
    stamps = np.concatenate([f.timestamps for f in frames])
    panel = Panel.from_columns(stamps, frames[0].server_ids, values, step)
    return EvaluationData(panel, sim.incidents(first, end), fleet_roles(fleet), start, end,
                          seed, fleet)


@dataclass(frozen=True)
class MethodCard:
    """One method's results: event scores, and rankings given the true onset (shifted)."""

    name: str
    events: Score
    given: dict[str, float]           # ac1..ac5, avg5 at the true onset
    given_by_pattern: dict[str, float]  # AC@1 at the true onset, per pattern
    shifted: dict[str, float]         # AC@1 with the onset ±3 ticks off: all, isolated
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "events": self.events.as_dict(), "onset_given": self.given,
                "onset_given_ac1_by_pattern": self.given_by_pattern,
                "onset_shifted_ac1": self.shifted, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class Scorecard:
    """Ours and both baselines on the same rows of one window."""

    start: int
    end: int
    seed: int
    fleet: str
    step: int
    servers: int
    methods: list[MethodCard] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"start": format_iso(self.start), "end": format_iso(self.end),
                "seed": self.seed, "fleet": self.fleet, "step": self.step,
                "servers": self.servers, "methods": [m.as_dict() for m in self.methods]}

    def table(self) -> str:
        """The scorecard as a fixed-width text table."""
        head = (f"{self.fleet} fleet, seed {self.seed}, step {self.step} s, "
                f"{format_iso(self.start)} – {format_iso(self.end)}")
        names = [m.name for m in self.methods]
        lines = [head, f"{'measure':34s}" + "".join(f"{n:>14s}" for n in names)]
        for label, value in _ROWS:
            cells = [value(m) for m in self.methods]
            lines.append(f"{label:34s}" + "".join(f"{c:>14s}" for c in cells))
        return "\n".join(lines)


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


Row = tuple[str, Callable[[MethodCard], str]]


def _delay(pattern: str) -> Callable[[MethodCard], str]:
    return lambda m: _f(m.events.delay_by_pattern.get(pattern))


_ROWS: list[Row] = [
    ("truths / detections / matched", lambda m: f"{m.events.truths}/{m.events.detections}/"
                                                f"{m.events.matched}"),
    ("precision", lambda m: _f(m.events.precision)),
    ("recall", lambda m: _f(m.events.recall)),
    ("event F1", lambda m: _f(m.events.f1)),
    ("false incidents / server-day", lambda m: _f(m.events.false_per_server_day)),
    ("AC@1 (detected)", lambda m: _f(m.events.ac[0])),
    ("AC@3 (detected)", lambda m: _f(m.events.ac[2])),
    ("Avg@5 (detected)", lambda m: _f(m.events.avg5)),
    ("AC@1 cascade (detected)", lambda m: _f(m.events.ac1_by_pattern.get("cascade_failure"))),
    ("AC@1 db_lock (detected)", lambda m: _f(m.events.ac1_by_pattern.get("db_lock"))),
    ("AC@1 onset given", lambda m: _f(m.given["ac1"])),
    ("AC@3 onset given", lambda m: _f(m.given["ac3"])),
    ("AC@1 cascade onset given", lambda m: _f(m.given_by_pattern.get("cascade_failure"))),
    ("AC@1 onset ±3 ticks (all)", lambda m: _f(m.shifted["all"])),
    ("AC@1 onset ±3 ticks (isolated)", lambda m: _f(m.shifted["isolated"])),
    ("pattern macro-F1", lambda m: _f(m.events.pattern_f1) if m.name == "ours" else "—"),
    *[(f"median delay {p} (ticks)", _delay(p))
      for p in ("cpu_spike", "network_latency", "db_lock", "cascade_failure", "memory_leak",
                "disk_full", "gradual_degradation")],
    ("seconds", lambda m: f"{m.seconds:.2f}"),
]


def _given(
    truths: Sequence[Incident], rankings: Mapping[int, Sequence[Sequence[str]]]
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """AC@k at shift 0, AC@1 per pattern, and AC@1 over the shifts (all / isolated)."""
    exact = list(zip(truths, rankings[0], strict=True))
    given = {f"ac{k}": accuracy_at(exact, k) for k in range(1, 6)}
    given["avg5"] = float(np.mean([given[f"ac{k}"] for k in range(1, 6)]))
    patterns = sorted({t.pattern for t in truths})
    by_pattern = {p: accuracy_at([x for x in exact if x[0].pattern == p], 1) for p in patterns}
    isolated = [all(o is t or abs(o.start - t.start) >= ISOLATION for o in truths)
                for t in truths]
    moved = [(t, r, iso) for s in SHIFTS
             for t, r, iso in zip(truths, rankings[s], isolated, strict=True)]
    shifted = {
        "all": accuracy_at([(t, r) for t, r, _ in moved], 1),
        "isolated": accuracy_at([(t, r) for t, r, iso in moved if iso], 1),
        "isolated_share": float(np.mean(isolated)) if isolated else 0.0,
    }
    return given, by_pattern, shifted


def _ours(data: EvaluationData, config: AnalysisConfig | None) -> MethodCard:
    t0 = time.perf_counter()
    analysis = analyze_panel(data.panel, data.roles, config)
    seconds = time.perf_counter() - t0
    detected = [i.as_detected() for i in analysis.incidents]
    truths = [t for t in data.truths if data.start <= t.start < data.end]
    step = data.panel.step
    rankings = {s: [[c.server_id for c in analysis.rank_at(t.start + s * step)] for t in truths]
                for s in (0, *SHIFTS)}
    events = score(detected, data.truths, (data.start, data.end), step, len(data.roles))
    return MethodCard("ours", events, *_given(truths, rankings), seconds)


def _baseline(data: EvaluationData, spec: BaselineMethod) -> MethodCard:
    t0 = time.perf_counter()
    values = channels(data.panel)
    detected = detect_baseline(data.panel, spec, values)
    seconds = time.perf_counter() - t0
    truths = [t for t in data.truths if data.start <= t.start < data.end]
    step = data.panel.step
    rankings = {s: [rank_baseline(data.panel, t.start + s * step, spec, values) for t in truths]
                for s in (0, *SHIFTS)}
    events = score(detected, data.truths, (data.start, data.end), step, len(data.roles))
    return MethodCard(spec.label, events, *_given(truths, rankings), seconds)


def evaluate(
    start: int, end: int, seed: int, fleet: str = "default", step: int = 600,
    warmup_days: int = 7, config: AnalysisConfig | None = None,
) -> Scorecard:
    """Ours, NSigma and RobustScorer on the same simulated rows of [start, end)."""
    data = generate(seed, fleet, start, end, step, warmup_days)
    cards = [_ours(data, config), _baseline(data, BaselineMethod("nsigma")),
             _baseline(data, BaselineMethod("robust"))]
    return Scorecard(start, end, seed, fleet, step, len(data.roles), cards)


# --- analyze ------------------------------------------------------------------------------


def analyze(rows: Iterable[MetricRow], roles: Mapping[str, str]) -> list[dict[str, object]]:
    """Detected incidents of ``rows`` (``python -m lib analyze``), JSON-ready."""
    return analyze_rows(rows, roles)


def analyze_window(
    start: int, end: int, seed: int, fleet: str = "default", step: int = 600,
    warmup_days: int = 7, timezone: str = "Asia/Seoul",
) -> list[dict[str, object]]:
    """Simulated rows of [start, end) analysed with ``warmup_days`` of history before them;
    the incidents that start inside the window."""
    data = generate(seed, fleet, start, end, step, warmup_days, timezone)
    analysis = analyze_panel(data.panel, data.roles)
    return [i.as_dict() for i in analysis.incidents if start <= i.start < end]


def read_rows(source: TextIO, fmt: str) -> Iterator[MetricRow]:
    """Rows as ``export`` writes them (``jsonl`` or ``csv``)."""
    if fmt == "csv":
        for record in csv.DictReader(source):
            yield _row(record)
        return
    for line in source:
        if line.strip():
            yield _row(json.loads(line))


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]


def _row(record: Mapping[str, object]) -> MetricRow:
    status = str(record.get("status") or "healthy")
    rt = _num(record.get("response_time"))
    return MetricRow(
        parse_instant(str(record["timestamp"]), "timestamp"), str(record["server_id"]),
        _num(record.get("cpu")) or 0.0, _num(record.get("memory")) or 0.0,
        _num(record.get("disk")) or 0.0, None if rt is None else int(rt),
        _num(record.get("network_rx")) or 0.0, _num(record.get("network_tx")) or 0.0,
        int(_num(record.get("connections")) or 0),
        status if status in STATUSES else "healthy",  # type: ignore[arg-type]
    )

"""Scoring detected incidents against the ground truth (definitions: docs/analysis.md, "Scoring").

* A ground-truth incident is detected when a detection overlaps its [start, end) with one tick
  of tolerance and shares at least one server with its affected set; matching is one-to-one
  (a maximum matching, preferring the detection whose start is closest, then the one sharing
  the most servers).
* precision = matched detections / detections; recall = detected truths / truths; event F1.
  False incidents per server-day count the unmatched detections.
* AC@k: share of detected truths whose origin is in the matched detection's top k candidates;
  Avg@5 the mean of AC@1..AC@5.
* Pattern: macro-F1 over the seven patterns on the matched pairs, with the confusion matrix.
* Delay: detected start − true start in ticks, median per pattern.

Only truths that start inside the scored window count, and the detections matched to them or,
unmatched, starting inside it; a detection matched to a truth that began before the window
counts for neither side.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lib.core import Incident

__all__ = [
    "PATTERNS",
    "Detected",
    "Score",
    "accuracy_at",
    "match",
    "pattern_scores",
    "score",
]

PATTERNS = (
    "memory_leak", "cpu_spike", "disk_full", "cascade_failure", "network_latency", "db_lock",
    "gradual_degradation",
)


@dataclass(frozen=True)
class Detected:
    """What scoring needs of a detection (epoch seconds; candidates best first)."""

    start: int
    end: int
    servers: frozenset[str]
    candidates: tuple[str, ...]
    pattern: str = "unknown"


@dataclass(frozen=True)
class Score:
    """One method's scorecard on one window (see the module docstring)."""

    truths: int
    detections: int
    matched: int
    precision: float
    recall: float
    f1: float
    false_per_server_day: float
    ac: tuple[float, ...]            # AC@1..AC@5
    avg5: float
    ac1_by_pattern: dict[str, float]
    recall_by_pattern: dict[str, float]
    pattern_f1: float
    pattern_f1_by_pattern: dict[str, float]
    confusion: dict[str, dict[str, int]]
    delay_by_pattern: dict[str, float]
    delays: dict[str, list[float]]       # every matched truth's delay, for pooling windows
    truths_by_pattern: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "truths": self.truths, "detections": self.detections, "matched": self.matched,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "false_per_server_day": self.false_per_server_day,
            "ac": dict(zip(("ac1", "ac2", "ac3", "ac4", "ac5"), self.ac, strict=True)),
            "avg5": self.avg5, "ac1_by_pattern": self.ac1_by_pattern,
            "recall_by_pattern": self.recall_by_pattern, "pattern_f1": self.pattern_f1,
            "pattern_f1_by_pattern": self.pattern_f1_by_pattern, "confusion": self.confusion,
            "delay_by_pattern": self.delay_by_pattern,
            "truths_by_pattern": self.truths_by_pattern,
        }


def _overlaps(d: Detected, t: Incident, step: int) -> bool:
    if not (d.start < t.end + step and d.end > t.start - step):
        return False
    return any(a.server_id in d.servers for a in t.affected)


def match(
    detections: Sequence[Detected], truths: Sequence[Incident], step: int
) -> dict[int, int]:
    """Maximum one-to-one matching, truth index → detection index (Kuhn's augmenting paths)."""
    edges: list[list[int]] = []
    for t in truths:
        fits = [i for i, d in enumerate(detections) if _overlaps(d, t, step)]
        servers = {a.server_id for a in t.affected}
        edges.append(sorted(fits, key=lambda i: (abs(detections[i].start - t.start),
                                                 -len(servers & detections[i].servers), i)))
    owner: dict[int, int] = {}  # detection → truth

    def augment(ti: int, seen: set[int]) -> bool:
        for di in edges[ti]:
            if di in seen:
                continue
            seen.add(di)
            if di not in owner or augment(owner[di], seen):
                owner[di] = ti
                return True
        return False

    for ti in range(len(truths)):
        augment(ti, set())
    return {ti: di for di, ti in owner.items()}


def accuracy_at(pairs: Sequence[tuple[Incident, Sequence[str]]], k: int) -> float:
    """Share of (truth, ranked candidates) pairs with the true origin in the top ``k``."""
    if not pairs:
        return 0.0
    return sum(t.origin in list(c)[:k] for t, c in pairs) / len(pairs)


def pattern_scores(
    pairs: Sequence[tuple[str, str]],
) -> tuple[float, dict[str, float], dict[str, dict[str, int]]]:
    """Macro-F1 over PATTERNS of (true, predicted) pairs, per-pattern F1, confusion matrix."""
    confusion: dict[str, dict[str, int]] = {p: {} for p in PATTERNS}
    for true, pred in pairs:
        row = confusion.setdefault(true, {})
        row[pred] = row.get(pred, 0) + 1
    f1s = {}
    for p in PATTERNS:
        tp = confusion.get(p, {}).get(p, 0)
        predicted = sum(row.get(p, 0) for row in confusion.values())
        actual = sum(confusion.get(p, {}).values())
        if actual == 0 and predicted == 0:
            continue
        f1s[p] = 2 * tp / (predicted + actual) if predicted + actual else 0.0
    macro = float(np.mean(list(f1s.values()))) if f1s else 0.0
    return macro, f1s, confusion


def score(
    detections: Sequence[Detected],
    truths: Sequence[Incident],
    window: tuple[int, int],
    step: int,
    servers: int,
) -> Score:
    """The scorecard of ``detections`` against ``truths`` over ``window`` (see module doc)."""
    start, end = window
    pairs = match(detections, truths, step)
    inside_t = [i for i, t in enumerate(truths) if start <= t.start < end]
    matched_d = {pairs[i] for i in inside_t if i in pairs}
    ignored = {pairs[i] for i, t in enumerate(truths) if i in pairs and not start <= t.start < end}
    inside_d = [i for i, d in enumerate(detections)
                if i in matched_d or (start <= d.start < end and i not in ignored)]
    hits = [(truths[i], detections[pairs[i]]) for i in inside_t if i in pairs]
    tp_d = sum(1 for i in inside_d if i in matched_d)
    precision = tp_d / len(inside_d) if inside_d else 0.0
    recall = len(hits) / len(inside_t) if inside_t else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    days = (end - start) / 86_400
    ranked = [(t, d.candidates) for t, d in hits]
    ac = tuple(accuracy_at(ranked, k) for k in range(1, 6))
    macro, f1s, confusion = pattern_scores([(t.pattern, d.pattern) for t, d in hits])
    return Score(
        truths=len(inside_t), detections=len(inside_d), matched=len(hits),
        precision=precision, recall=recall, f1=f1,
        false_per_server_day=(len(inside_d) - tp_d) / max(servers * days, 1e-9),
        ac=ac, avg5=float(np.mean(ac)),
        ac1_by_pattern=_by_pattern(ranked, lambda t, c: float(t.origin in list(c)[:1])),
        recall_by_pattern=_recall_by_pattern([truths[i] for i in inside_t], hits),
        pattern_f1=macro, pattern_f1_by_pattern=f1s, confusion=confusion,
        delay_by_pattern={p: float(np.median(v)) for p, v in _delays(hits, step).items()},
        delays=_delays(hits, step),
        truths_by_pattern=dict(sorted(Counter(truths[i].pattern for i in inside_t).items())),
    )


def _by_pattern(
    ranked: Sequence[tuple[Incident, Sequence[str]]],
    hit: Callable[[Incident, Sequence[str]], float],
) -> dict[str, float]:
    groups: dict[str, list[float]] = defaultdict(list)
    for t, c in ranked:
        groups[t.pattern].append(hit(t, c))
    return {p: float(np.mean(v)) for p, v in sorted(groups.items())}


def _recall_by_pattern(
    truths: Sequence[Incident], hits: Sequence[tuple[Incident, Detected]]
) -> dict[str, float]:
    total = Counter(t.pattern for t in truths)
    found = Counter(t.pattern for t, _ in hits)
    return {p: found[p] / n for p, n in sorted(total.items())}


def _delays(hits: Sequence[tuple[Incident, Detected]], step: int) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for t, d in hits:
        groups[t.pattern].append((d.start - t.start) / step)
    return dict(sorted(groups.items()))

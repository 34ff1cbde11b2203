"""The whole analysis over a panel: detect, assemble incidents, rank causes, name patterns.

``analyze_panel`` is the batch entry point; ``analyze_rows`` takes metric rows as a
collector or ``export`` produces them and returns the JSON-ready incidents:
``start``, ``end``, ``origin``, ``candidates`` [{server_id, score}], ``pattern``,
``confidence``, ``affected`` [{server_id, onset}], ``evidence``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lib.core import MetricRow, format_iso

from .detect import Detection, DetectorConfig, detect
from .episodes import Episode, find_episodes
from .incidents import Group, GroupingConfig, group_episodes
from .panel import Panel
from .patterns import classify, measure
from .rootcause import Candidate, RootCauseConfig, members_for_ranking, rank, rank_at
from .scoring import Detected

__all__ = [
    "Analysis",
    "AnalysisConfig",
    "DetectedIncident",
    "analyze_detection",
    "analyze_panel",
    "analyze_rows",
]

MAX_CANDIDATES = 10  # in the JSON; scoring sees them all


@dataclass(frozen=True)
class AnalysisConfig:
    """Every tunable of the analysis, with its defaults (docs/analysis.md)."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    rootcause: RootCauseConfig = field(default_factory=RootCauseConfig)


@dataclass(frozen=True)
class DetectedIncident:
    """One detected incident (epoch seconds)."""

    start: int
    end: int
    candidates: tuple[Candidate, ...]
    pattern: str
    confidence: float
    affected: tuple[tuple[str, int], ...]   # (server id, onset), in order of onset
    kind: str
    detected_at: int                        # the first alarm among its members
    evidence: dict[str, object]

    @property
    def origin(self) -> str:
        return self.candidates[0].server_id

    def as_dict(self) -> dict[str, object]:
        return {
            "start": format_iso(self.start),
            "end": format_iso(self.end),
            "origin": self.origin,
            "candidates": [{"server_id": c.server_id, "score": round(c.score, 4)}
                           for c in self.candidates[:MAX_CANDIDATES]],
            "pattern": self.pattern,
            "confidence": round(self.confidence, 3),
            "affected": [{"server_id": s, "onset": format_iso(t)} for s, t in self.affected],
            "evidence": self.evidence,
        }

    def as_detected(self) -> Detected:
        return Detected(self.start, self.end, frozenset(s for s, _ in self.affected),
                        tuple(c.server_id for c in self.candidates), self.pattern)


@dataclass(frozen=True)
class Analysis:
    """Everything one run found, from the detector's arrays to the incidents."""

    detection: Detection
    episodes: list[Episode]
    groups: list[Group]
    incidents: list[DetectedIncident]
    roles: Mapping[str, str]
    config: AnalysisConfig

    def rank_at(self, onset: int) -> list[Candidate]:
        """Root-cause candidates for an incident said to begin at ``onset``."""
        return rank_at(self.detection, onset, self.roles, self.groups, self.episodes,
                       self.config.rootcause)


def analyze_panel(
    panel: Panel, roles: Mapping[str, str], config: AnalysisConfig | None = None
) -> Analysis:
    """Run every stage over ``panel``; ``roles`` maps server id → web|api|db|cache|worker."""
    config = config or AnalysisConfig()
    return analyze_detection(detect(panel, config.detector), roles, config)


def analyze_detection(
    detection: Detection, roles: Mapping[str, str], config: AnalysisConfig | None = None
) -> Analysis:
    """The stages after detection: episodes, incidents, root causes and patterns (the
    alert engine runs them on ``Detection.ticks`` up to each evaluated tick)."""
    config = config or AnalysisConfig()
    episodes = find_episodes(detection)
    groups = group_episodes(episodes, roles, config.grouping)
    incidents = [_incident(detection, g, episodes, roles, config) for g in groups]
    return Analysis(detection, episodes, groups, incidents, roles, config)


def _incident(
    detection: Detection,
    group: Group,
    episodes: Sequence[Episode],
    roles: Mapping[str, str],
    config: AnalysisConfig,
) -> DetectedIncident:
    members = members_for_ranking(detection, group, episodes, roles, config.rootcause)
    candidates = rank(detection, members, roles, config.rootcause, group.kind)
    origin = candidates[0].server_id
    episode = next((m for m in members if m.server_id == origin), group.members[0])
    signature = measure(detection, episode, roles.get(origin, ""))
    pattern, confidence = classify(signature, group.kind)
    evidence: dict[str, object] = {
        "kind": group.kind,
        "detected_at": format_iso(min(m.alarm for m in group.members)),
        "signature": signature.as_dict(),
        "ranking": [c.as_dict() for c in candidates[:5]],
    }
    return DetectedIncident(
        start=_start(group.members), end=group.end, candidates=tuple(candidates),
        pattern=pattern, confidence=confidence,
        affected=tuple((m.server_id, m.began) for m in group.members),
        kind=group.kind, detected_at=min(m.alarm for m in group.members), evidence=evidence,
    )


def _start(members: Sequence[Episode]) -> int:
    """The incident's start: where its earliest member's rise began (a follower's fitted
    rise does not move it; its onset estimate, the CUSUM's, does)."""
    first = min(m.onset for m in members)
    return min(min(m.began for m in members if m.onset == first), first)


def analyze_rows(
    rows: Iterable[MetricRow],
    roles: Mapping[str, str],
    config: AnalysisConfig | None = None,
    step: int | None = None,
) -> list[dict[str, object]]:
    """Detected incidents of ``rows`` as JSON-ready dicts, in order of start."""
    panel = Panel.from_rows(rows, step)
    if not panel.server_ids:
        return []
    return [i.as_dict() for i in analyze_panel(panel, roles, config).incidents]

"""Incident analysis from metric rows alone: baselines, detection, incidents, root cause,
pattern, health and forecasts (docs/analysis.md).

The package sees metric rows only — never the simulator, its schedule or its seed. Server
roles come in as data (``{server_id: role}``, from the collector's server templates).

    from lib.analysis import analyze_rows
    incidents = analyze_rows(rows, roles)        # JSON-ready dicts

``analyze_panel`` returns the whole ``Analysis`` (detector arrays, episodes, incidents);
``OnlineDetector`` takes one tick's rows at a time; ``health`` and ``forecast`` describe one
server; ``scoring`` scores incidents against a ground truth.
"""

from __future__ import annotations

from .baseline import Baseline, BaselineConfig, compute_baseline
from .detect import Detection, DetectorConfig, detect
from .engine import (
    Analysis,
    AnalysisConfig,
    DetectedIncident,
    analyze_detection,
    analyze_panel,
    analyze_rows,
)
from .episodes import Episode, find_episodes
from .forecast import forecast
from .health import DEFAULT_THRESHOLDS, Thresholds, describe_server, health_score
from .incidents import Group, GroupingConfig, group_episodes
from .online import OnlineDetector, anomalies_at
from .panel import CHANNELS, METRICS, Panel, channels
from .patterns import PATTERNS, Signature, classify
from .rootcause import Candidate, RootCauseConfig, rank, rank_at
from .scoring import Detected, Score, score

__all__ = [
    "CHANNELS",
    "DEFAULT_THRESHOLDS",
    "METRICS",
    "PATTERNS",
    "Analysis",
    "AnalysisConfig",
    "Baseline",
    "BaselineConfig",
    "Candidate",
    "Detected",
    "DetectedIncident",
    "Detection",
    "DetectorConfig",
    "Episode",
    "Group",
    "OnlineDetector",
    "GroupingConfig",
    "Panel",
    "RootCauseConfig",
    "Score",
    "Signature",
    "Thresholds",
    "analyze_detection",
    "analyze_panel",
    "analyze_rows",
    "anomalies_at",
    "channels",
    "classify",
    "compute_baseline",
    "describe_server",
    "detect",
    "find_episodes",
    "forecast",
    "group_episodes",
    "health_score",
    "rank",
    "rank_at",
    "score",
]

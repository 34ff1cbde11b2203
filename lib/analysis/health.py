"""A 0–100 health score per server, and the one-server summary behind /api/analysis/server.

health = 100 × (1 − 0.6 × T − 0.4 × A), clipped to [0, 100] (docs/analysis.md, "Health"):

* T, thresholds: the worst metric's pressure. A metric's pressure is 0 up to 80 % of its
  warning threshold, rises linearly to 0.5 at the warning threshold and to 1 at the critical
  one, and stays 1 above. Thresholds are data (cpu 70/90, memory 80/95, disk 80/90 %,
  response time per role), passed in by the caller.
* A, anomaly: how far the server is from its own baseline now — the largest z of its
  channels, 0 up to z = 3 and 1 from z = 9 on.

A healthy server scores 100; one at a critical threshold at most 40; one at a critical
threshold and far off its baseline 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lib.core import format_iso

from .detect import Detection
from .episodes import Episode, find_episodes
from .forecast import forecast
from .panel import CHANNELS, FloatArray

__all__ = ["DEFAULT_THRESHOLDS", "Thresholds", "describe_server", "health_score", "pressure"]


@dataclass(frozen=True)
class Thresholds:
    """(warning, critical) per resource metric, and per role for response time (ms)."""

    resources: Mapping[str, tuple[float, float]]
    response: Mapping[str, tuple[float, float]]


# The README's thresholds, as data (the analysis does not import the simulator's status).
DEFAULT_THRESHOLDS = Thresholds(
    resources={"cpu": (70.0, 90.0), "memory": (80.0, 95.0), "disk": (80.0, 90.0)},
    response={"web": (300.0, 800.0), "api": (450.0, 1000.0), "db": (150.0, 500.0),
              "cache": (40.0, 150.0), "worker": (2000.0, 6000.0)},
)


def pressure(value: float, warning: float, critical: float) -> float:
    """0 below 80 % of warning, 0.5 at warning, 1 at critical (linear between)."""
    if not np.isfinite(value):
        return 0.0
    knee = 0.8 * warning
    if value <= knee:
        return 0.0
    if value <= warning:
        return 0.5 * (value - knee) / (warning - knee)
    return min(1.0, 0.5 + 0.5 * (value - warning) / (critical - warning))


def health_score(
    values: Mapping[str, float], max_z: float, role: str, thresholds: Thresholds
) -> tuple[int, dict[str, float]]:
    """(score, parts) from a tick's metric values and its largest channel z."""
    parts = {m: pressure(values.get(m, float("nan")), *levels)
             for m, levels in thresholds.resources.items()}
    if role in thresholds.response:
        parts["response_time"] = pressure(values.get("response_time", float("nan")),
                                          *thresholds.response[role])
    worst = max(parts.values(), default=0.0)
    anomaly = float(np.clip((max_z - 3.0) / 6.0, 0.0, 1.0)) if np.isfinite(max_z) else 0.0
    score = 100.0 * (1.0 - 0.6 * worst - 0.4 * anomaly)
    return round(float(np.clip(score, 0.0, 100.0))), {**parts, "anomaly": anomaly}


def _active(episodes: list[Episode], server_id: str, index: int) -> Episode | None:
    """The server's episode under way at tick ``index``, if any."""
    for e in episodes:
        if e.server_id == server_id and e.first <= index <= e.last_extent:
            return e
    return None


def _against(
    detection: Detection, col: int, i: int, episode: Episode | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(z, baseline, sigma) of tick ``i``: against the live baseline, or — during an episode —
    against the baseline frozen at its onset, which a long incident cannot wear down."""
    base = detection.baseline
    if episode is None:
        return base.z[:, i, col], base.mu[:, i, col], base.sigma[:, i, col]
    at = episode.first
    dev = np.array([base.frozen(c, col, at, i, i + 1)[0] for c in range(len(CHANNELS))])
    sigma = base.sigma[:, at, col]
    return dev / sigma, base.values[:, i, col] - dev, sigma


def describe_server(
    detection: Detection,
    server_id: str,
    at: int,
    role: str,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    episodes: list[Episode] | None = None,
) -> dict[str, object]:
    """Health, current anomalies with their baselines, and forecasts of one server at ``at``
    (the last tick at or before it); ``episodes`` are ``find_episodes(detection)`` when the
    caller has them. During an episode the anomalies are measured against
    the baseline frozen at its onset (``since``)."""
    panel = detection.panel
    col = panel.server_ids.index(server_id)
    i = int(np.searchsorted(panel.timestamps, at, side="right")) - 1
    if i < 0:
        raise ValueError(f"no data at or before {format_iso(at)}")
    episodes = find_episodes(detection) if episodes is None else episodes
    episode = _active(episodes, server_id, i)
    z, mu, sigma = _against(detection, col, i, episode)
    values = {m: float(panel.values[m][i, col]) for m in ("cpu", "memory", "disk",
                                                          "response_time")}
    score, parts = health_score(values, float(np.nanmax(z)) if np.isfinite(z).any() else 0.0,
                                role, thresholds)
    base = detection.baseline
    anomalies = [
        {"metric": name, "value": round(float(base.values[c, i, col]), 4),
         "baseline": round(float(mu[c]), 4), "sigma": round(float(sigma[c]), 4),
         "z": round(float(z[c]), 2)}
        for c, name in enumerate(CHANNELS) if np.isfinite(z[c]) and z[c] > detection.config.k
    ]
    ts = panel.timestamps[: i + 1]
    slow = {m: panel.values[m][: i + 1, col] for m in ("disk", "memory")}
    resources = {m: thresholds.resources[m] for m in slow if m in thresholds.resources}
    return {
        "server_id": server_id, "role": role, "at": format_iso(int(panel.timestamps[i])),
        "health": score, "parts": {k: round(v, 3) for k, v in parts.items()},
        "alarm": bool(detection.alarm[i, col]), "anomalies": anomalies,
        "since": None if episode is None else format_iso(episode.onset),
        "forecast": forecast(ts, slow, resources),
    }

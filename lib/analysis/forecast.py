"""Time-to-threshold forecasts for the slow resources (disk and memory), with an interval.

A robust trend (Theil–Sen: the median of the slopes between every pair of points) over the
trailing ``window``; the interval comes from the 10th and 90th percentiles of those slopes.
A resource that is not rising has no forecast (``None``), and neither has one whose
crossing lies beyond ``horizon``. Thresholds are data: ``{"memory": (80, 95), ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lib.core import format_iso

from .panel import FloatArray, IntArray

__all__ = ["Crossing", "Trend", "forecast", "trend"]

MAX_POINTS = 96  # Theil–Sen is quadratic; a longer window is thinned evenly


@dataclass(frozen=True)
class Trend:
    """Current level and slopes (units per second): best, low (10 %), high (90 %)."""

    level: float
    slope: float
    slow: float
    fast: float


@dataclass(frozen=True)
class Crossing:
    """When a threshold will be reached: seconds from now, with an interval."""

    threshold: float
    seconds: float
    earliest: float
    latest: float | None  # None: the slow end of the interval never gets there

    def as_dict(self, now: int) -> dict[str, object]:
        return {"threshold": self.threshold, "seconds": round(self.seconds),
                "at": format_iso(now + round(self.seconds)), "interval_s": [
                    round(self.earliest), None if self.latest is None else round(self.latest)]}


def trend(timestamps: IntArray, values: FloatArray) -> Trend | None:
    """Theil–Sen trend of the finite points; None with fewer than four."""
    keep = np.isfinite(values)
    t, v = timestamps[keep].astype(np.float64), values[keep]
    if len(t) < 4:
        return None
    if len(t) > MAX_POINTS:
        pick = np.linspace(0, len(t) - 1, MAX_POINTS).round().astype(np.intp)
        t, v = t[pick], v[pick]
    i, j = np.triu_indices(len(t), k=1)
    slopes = (v[j] - v[i]) / (t[j] - t[i])
    slope = float(np.median(slopes))
    level = float(np.median(v - slope * (t - t[-1])))  # the fitted value now
    low, high = np.quantile(slopes, [0.1, 0.9])
    return Trend(level, slope, float(low), float(high))


def _eta(gap: float, slope: float) -> float | None:
    return gap / slope if slope > 0 else None


def forecast(
    timestamps: IntArray,
    values: Mapping[str, FloatArray],
    thresholds: Mapping[str, tuple[float, float]],
    window: int = 6 * 3600,
    horizon: int = 7 * 86_400,
) -> dict[str, dict[str, object]]:
    """Per metric: its trend and when it reaches warning and critical (seconds ahead)."""
    if len(timestamps) == 0:
        return {}
    now = int(timestamps[-1])
    recent = timestamps >= now - window
    out: dict[str, dict[str, object]] = {}
    for metric, levels in thresholds.items():
        if metric not in values:
            continue
        fit = trend(timestamps[recent], values[metric][recent])
        if fit is None:
            continue
        entry: dict[str, object] = {"level": round(fit.level, 3),
                                    "slope_per_hour": round(fit.slope * 3600, 4)}
        for name, threshold in zip(("warning", "critical"), levels, strict=True):
            entry[name] = _crossing(fit, threshold, horizon, now)
        out[metric] = entry
    return out


def _crossing(fit: Trend, threshold: float, horizon: int, now: int) -> dict[str, object] | None:
    gap = threshold - fit.level
    if gap <= 0:
        return {"threshold": threshold, "seconds": 0, "at": format_iso(now), "interval_s": [0, 0]}
    best = _eta(gap, fit.slope)
    if best is None or best > horizon:
        return None
    earliest = _eta(gap, fit.fast) or best
    latest = _eta(gap, fit.slow)
    return Crossing(threshold, best, earliest, latest).as_dict(now)

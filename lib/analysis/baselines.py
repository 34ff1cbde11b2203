"""The published baselines the scorecard compares against, on the same panel.

* **NSigma** (RCAEval's N-Sigma): every server × metric is z-scored against the window
  before the onset (mean and standard deviation); a server's score is its largest |z| after
  the onset.
* **RobustScorer** (BARO, FSE'24): the same with the median and the interquartile range of
  the window before the onset, which shrugs off outliers in the normal period.

Both rank root causes given an onset (RCAEval's protocol). For the event scores they also get
the naive detector such methods come with: a server is anomalous while its score against the
trailing window exceeds ``threshold``; runs that last ``hold`` seconds are kept, and runs
starting within ``gap`` of each other form one event, ranked at its start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .panel import FloatArray, Panel, channels
from .scoring import Detected
from .stats import nanmean_std, nanmedian, nanquantile

__all__ = ["BaselineMethod", "Method", "rank_baseline", "detect_baseline"]

Method = Literal["nsigma", "robust"]


@dataclass(frozen=True)
class BaselineMethod:
    """Windows (seconds) and the detection threshold of a baseline method."""

    method: Method
    before: int = 2 * 3600
    after: int = 3600
    threshold: float = 3.0
    hold: int = 1200   # a server's run must last this long to count
    gap: int = 600     # runs starting this close form one event

    @property
    def label(self) -> str:
        return "NSigma" if self.method == "nsigma" else "RobustScorer"


def _scale(values: FloatArray, method: Method, axis: int) -> tuple[FloatArray, FloatArray]:
    """Centre and spread of the normal window (mean/std, or median/IQR)."""
    if method == "nsigma":
        mean, std = nanmean_std(values, axis)
        return mean, np.maximum(std, 1e-6)
    median, _ = nanmedian(values, axis)
    iqr = nanquantile(values, 0.75, axis) - nanquantile(values, 0.25, axis)
    return median, np.maximum(iqr, 1e-6)


def rank_baseline(
    panel: Panel, onset: int, spec: BaselineMethod, values: FloatArray | None = None
) -> list[str]:
    """Servers ranked by their largest |score| in [onset, onset + after) against the
    window [onset − before, onset)."""
    values = channels(panel) if values is None else values
    ts = panel.timestamps
    lo, mid, hi = np.searchsorted(ts, [onset - spec.before, onset, onset + spec.after])
    if mid <= lo or hi <= mid:
        return sorted(panel.server_ids)
    center, spread = _scale(values[:, lo:mid], spec.method, axis=1)
    with np.errstate(invalid="ignore"):
        score = np.abs(values[:, mid:hi] - center[:, None]) / spread[:, None]
    per_server = np.nan_to_num(np.nanmax(score, axis=(0, 1)), nan=0.0)
    order = np.lexsort((np.array(panel.server_ids), -per_server))
    return [panel.server_ids[i] for i in order]


def detect_baseline(
    panel: Panel, spec: BaselineMethod, values: FloatArray | None = None
) -> list[Detected]:
    """Events of the naive detector: scores against the trailing ``before`` window.

    The window's statistics are refreshed every 10 minutes from at most 24 of its ticks
    (evenly spaced): at a 30-s step a per-tick 2-hour window would cost 240× the data.
    """
    values = channels(panel) if values is None else values
    width = max(2, spec.before // panel.step)
    c, t, s = values.shape
    if t <= width:
        return []
    every = max(1, 600 // panel.step)
    stride = max(1, width // 24)
    padded = np.concatenate([np.full((c, width, s), np.nan), values], axis=1)
    windows = sliding_window_view(padded, width, axis=1)[:, :t:every, :, ::stride]
    center, spread = _scale(windows, spec.method, axis=-1)
    refresh = np.arange(t) // every
    with np.errstate(invalid="ignore"):
        score = np.abs(values - center[:, refresh]) / spread[:, refresh]
        score = np.nan_to_num(score, nan=0.0).max(axis=0)
    flagged = score > spec.threshold
    flagged[:width] = False
    return _events(panel, flagged, spec, values)


def _events(
    panel: Panel, flagged: npt.NDArray[np.bool_], spec: BaselineMethod, values: FloatArray
) -> list[Detected]:
    """Per-server runs held for ``hold`` seconds, joined when they start within ``gap``."""
    hold = max(1, spec.hold // panel.step)
    runs = []
    for col in range(flagged.shape[1]):
        edges = np.diff(np.concatenate([[0], flagged[:, col].astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            if b - a >= hold:
                runs.append((int(a), int(b), col))
    runs.sort()
    events: list[list[tuple[int, int, int]]] = []
    for run in runs:
        if events and run[0] - events[-1][0][0] <= spec.gap // panel.step:
            events[-1].append(run)
        else:
            events.append([run])
    ts = panel.timestamps
    return [
        Detected(int(ts[e[0][0]]), int(ts[max(r[1] for r in e) - 1]) + panel.step,
                 frozenset(panel.server_ids[r[2]] for r in e),
                 tuple(rank_baseline(panel, int(ts[e[0][0]]), spec, values)))
        for e in events
    ]


"""Online detection: one tick's rows in, the anomalies of that tick out, using only the past.

``OnlineDetector`` keeps the rows of the last ``lookback_days`` + 1 days (what fixes every
baseline of the current day and of the day before, see ``baseline.lookback_seconds``) and the
CUSUM state. Each tick it recomputes the evidence of its buffer with the very functions the
batch detector uses — same data, same arithmetic — and advances the CUSUM by that one tick,
so feeding ticks one by one yields exactly what ``detect`` yields over the whole window
(``anomalies_at`` reads the batch result in the same shape; tests/analysis check both agree).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib.core import MetricRow

from .baseline import DAY, lookback_seconds
from .detect import Detection, DetectorConfig, DetectorState, gains, run_cusum, weigh
from .panel import CHANNELS, METRICS, FloatArray, Panel

__all__ = ["OnlineDetector", "anomalies_at"]


def _describe(
    server_id: str, ts: int, onset: int, score: float, z: FloatArray, mu: FloatArray,
    values: FloatArray, k: float,
) -> dict[str, object]:
    channels = [
        {"metric": name, "value": round(float(values[c]), 4), "baseline": round(float(mu[c]), 4),
         "z": round(float(z[c]), 2)}
        for c, name in enumerate(CHANNELS) if np.isfinite(z[c]) and z[c] > k
    ]
    return {"server_id": server_id, "timestamp": ts, "onset": onset,
            "score": round(score, 3), "channels": channels}


def _onset(totals: FloatArray, stamps: Sequence[int], step: int) -> int:
    """The tick after the last minimum of the running sum (the CUSUM run's start)."""
    last_min = len(totals) - 1 - int(np.argmin(totals[::-1]))
    return int(stamps[last_min]) + step if last_min < len(totals) - 1 else int(stamps[-1])


def anomalies_at(detection: Detection, index: int) -> list[dict[str, object]]:
    """The batch detector's anomalies at tick ``index``, shaped like ``OnlineDetector.update``."""
    window = max(1, detection.config.window // detection.panel.step)
    ts = detection.panel.timestamps
    lo = max(0, index - window)
    out = []
    for col in np.flatnonzero(detection.alarm[index]).tolist():
        totals = detection.total[-1, lo:index + 1, col]
        onset = _onset(totals, ts[lo:index + 1].tolist(), detection.panel.step)
        base = detection.baseline
        out.append(_describe(detection.panel.server_ids[col], int(ts[index]), onset,
                             float(detection.score[-1, index, col]), base.z[:, index, col],
                             base.mu[:, index, col], base.values[:, index, col],
                             detection.config.k))
    return out


class OnlineDetector:
    """Feed one tick of rows at a time (``update``); get that tick's anomalies back."""

    def __init__(
        self, server_ids: Sequence[str], step: int, config: DetectorConfig | None = None
    ) -> None:
        self.server_ids = tuple(sorted(server_ids))
        self.step = step
        self.config = config or DetectorConfig()
        self._column = {sid: j for j, sid in enumerate(self.server_ids)}
        self._window = max(1, self.config.window // step)
        self._state = DetectorState.fresh(len(self.server_ids), self._window, len(CHANNELS) + 1)
        self._keep = max(lookback_seconds(self.config.baseline),
                         self.config.tail_days * DAY) + 2 * DAY
        self._stamps: list[int] = []
        self._rows: list[FloatArray] = []   # per tick: (metrics × servers)
        self._totals: list[FloatArray] = []  # the server CUSUM's running sum, last window+1

    def update(self, timestamp: int, rows: Sequence[MetricRow]) -> list[dict[str, object]]:
        """Add the rows of tick ``timestamp`` (missing servers are offline) and detect."""
        if self._stamps and timestamp != self._stamps[-1] + self.step:
            self._fill_gap(timestamp)
        self._push(timestamp, self._tick(rows))
        panel = self._panel()
        base, ev = weigh(panel, self.config)
        score, total = run_cusum(gains(ev[:, -1:], self.step, self.config), self._state)
        self._totals = [*self._totals, total[-1, 0]][-(self._window + 1):]
        out = []
        for col in np.flatnonzero(score[-1, 0] >= self.config.threshold).tolist():
            totals = np.array([t[col] for t in self._totals])
            onset = _onset(totals, self._stamps[-len(totals):], self.step)
            out.append(_describe(self.server_ids[col], timestamp, onset,
                                 float(score[-1, 0, col]), base.z[:, -1, col],
                                 base.mu[:, -1, col], base.values[:, -1, col], self.config.k))
        return out

    def _tick(self, rows: Sequence[MetricRow]) -> FloatArray:
        grid = np.full((len(METRICS), len(self.server_ids)), np.nan)
        for row in rows:
            col = self._column.get(row.server_id)
            if col is None:
                continue
            grid[:, col] = [row.cpu, row.memory, row.disk,
                            np.nan if row.response_time is None else row.response_time,
                            row.network_rx, row.network_tx, row.connections]
        return grid

    def _fill_gap(self, timestamp: int) -> None:
        """Ticks nobody reported: every server offline (NaN), and the CUSUM moves on."""
        t = self._stamps[-1] + self.step
        while t < timestamp:
            self.update(t, [])
            t += self.step

    def _push(self, timestamp: int, grid: FloatArray) -> None:
        self._stamps.append(timestamp)
        self._rows.append(grid)
        first = timestamp - timestamp % DAY - self._keep + DAY
        while self._stamps and self._stamps[0] < first:
            self._stamps.pop(0)
            self._rows.pop(0)

    def _panel(self) -> Panel:
        stacked = np.stack(self._rows, axis=1)  # (metrics, T, S)
        values = {m: stacked[i] for i, m in enumerate(METRICS)}
        return Panel(np.array(self._stamps, dtype=np.int64), self.server_ids, self.step, values)

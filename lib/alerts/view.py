"""What the engine sees at a tick, built from the analysis the way a live system sees it:
from the data up to that tick only.

``Watcher`` holds a detection over a window (every detector array is causal: tick i depends
on ticks ≤ i) and, for each evaluated tick, reruns the analysis's later stages — episodes,
incidents, root cause, pattern — over the last ``lookback`` seconds up to that tick
(``Detection.ticks``). An episode still open at the tick is an anomaly; an incident with an
open member is active.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lib.analysis import CHANNELS, Analysis, Detection, analyze_detection

from .engine import IncidentView, ServerTick, TickInput

__all__ = ["DEFAULT_LOOKBACK", "METRIC_CHANNEL", "Watcher"]

DEFAULT_LOOKBACK = 14 * 3600  # an episode's extent is judged over at most 12 h, plus margin
METRIC_CHANNEL = {"cpu": "cpu", "memory": "memory", "disk": "disk", "response_time": "latency"}
_VALUE_METRICS = ("cpu", "memory", "disk", "response_time")


class Watcher:
    """TickInputs of a detection's ticks, each from the data up to it."""

    def __init__(
        self, detection: Detection, roles: Mapping[str, str],
        lookback: int = DEFAULT_LOOKBACK, sigma: Detection | None = None,
    ) -> None:
        self.detection = detection
        self.roles = dict(roles)
        self.sigma = sigma
        self._span = max(1, lookback // detection.panel.step)
        self._channel = {m: CHANNELS.index(c) for m, c in METRIC_CHANNEL.items()}

    @property
    def timestamps(self) -> list[int]:
        return [int(t) for t in self.detection.panel.timestamps]

    def analysis_at(self, index: int) -> Analysis:
        """The analysis as it stood at tick ``index``."""
        lo = max(0, index + 1 - self._span)
        return analyze_detection(self.detection.ticks(lo, index + 1), self.roles)

    def tick(self, index: int) -> TickInput:
        d = self.detection
        at = int(d.panel.timestamps[index])
        analysis = self.analysis_at(index)
        open_z = self._open_episodes(analysis, at)
        servers = {}
        for col, sid in enumerate(d.panel.server_ids):
            values = {m: _finite(d.panel.values[m][index, col]) for m in _VALUE_METRICS}
            z = {m: _finite(d.baseline.z[c, index, col]) for m, c in self._channel.items()}
            z_sigma = {} if self.sigma is None else {
                m: _finite(self.sigma.baseline.z[c, index, col])
                for m, c in self._channel.items()}
            servers[sid] = ServerTick(
                sid, self.roles.get(sid, ""), values,
                {m: v for m, v in z.items() if v is not None},
                {m: v for m, v in z_sigma.items() if v is not None}, open_z.get(sid))
        incidents = [
            IncidentView(i.start, i.origin, i.pattern, tuple(s for s, _ in i.affected),
                         any(s in open_z for s, _ in i.affected))
            for i in analysis.incidents if i.end > at]
        return TickInput(at, servers, incidents)

    def _open_episodes(self, analysis: Analysis, at: int) -> dict[str, float]:
        """server id → the largest z of its episode still open at ``at``."""
        base = analysis.detection.baseline
        out: dict[str, float] = {}
        for episode in analysis.episodes:
            if episode.end <= at:
                continue
            window = base.z[:, episode.first:, episode.column]
            peak = float(np.nanmax(window)) if np.isfinite(window).any() else 0.0
            out[episode.server_id] = max(out.get(episode.server_id, 0.0), peak)
        return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None

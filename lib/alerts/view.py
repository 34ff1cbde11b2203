"""What the engine sees at a tick, built from the analysis the way a live system sees it:
from the data up to that tick only.

``Watcher`` holds a detection over a window (every detector array is causal: tick i depends
on ticks ≤ i) and, for each evaluated tick, reruns the analysis's later stages — episodes,
incidents, root cause, pattern — over the last ``lookback`` seconds up to that tick
(``Detection.ticks``).

A server is **anomalous now** while the analysis holds it in an episode and every tick since
the episode's alarm (once it first showed) was off the baseline the episode left: some channel
of its signature deviating from the baseline frozen at the onset by ``extent_z`` sigma and
``extent_share`` of that channel's peak so far (the analysis's own extent test, tick by
tick). The analysis judges an episode's end with hindsight, and its CUSUM stays over the
threshold for up to two hours after a strong incident, so routine bursts in that tail would
extend the episode; the first tick back on the baseline ends the anomaly here, and only a
fresh alarm starts it again (``anomalous_now``). An incident with a member anomalous now is
active.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from lib.analysis import CHANNELS, Analysis, Detection, Episode, analyze_detection
from lib.analysis.baseline import DRIFTING
from lib.analysis.detect import burst_rates, sustained

from .engine import IncidentView, ServerTick, TickInput

__all__ = ["DEFAULT_LOOKBACK", "METRIC_CHANNEL", "Watcher", "anomalous_now", "deciding",
           "off_ticks"]

BLOCK = 600  # seconds: the analysis's block, over which a finer step's ticks are smoothed

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
        base, step, cfg = detection.baseline, detection.panel.step, detection.config
        # how often each channel bursts (the detector's q): a burst is no sign of anything
        self._bursty = burst_rates(base.z, sustained(base.z, step, cfg),
                                   detection.panel.timestamps, step, cfg) > cfg.bursty

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
        open_z = self._open_episodes(analysis, at, index)
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
        return TickInput(at, servers, incidents, d.panel.step)

    def _open_episodes(self, analysis: Analysis, at: int, index: int) -> dict[str, float]:
        """server id → the largest z of its episode still open at ``at`` and off now."""
        base = analysis.detection.baseline
        lo = index + 1 - len(analysis.detection.panel.timestamps)
        out: dict[str, float] = {}
        for episode in analysis.episodes:
            if episode.end <= at:
                continue
            bursty = {n for c, n in enumerate(CHANNELS)
                      if self._bursty[c, lo + episode.first, episode.column]}
            if not anomalous_now(analysis.detection, episode, deciding(episode, bursty)):
                continue
            window = base.z[:, episode.first:, episode.column]
            peak = float(np.nanmax(window)) if np.isfinite(window).any() else 0.0
            out[episode.server_id] = max(out.get(episode.server_id, 0.0), peak)
        return out


def deciding(episode: Episode, bursty: set[str]) -> list[str]:
    """The channels that say whether ``episode`` goes on: its signature's channels that
    neither burst routinely (``bursty``: a surge right after the end is not the incident)
    nor drift (a frozen memory or disk baseline goes stale over hours); failing those, the
    ones that do not burst; then its whole signature; with none, every channel."""
    signs = [n for n in CHANNELS if n in episode.signs]
    for keep in ([n for n in signs if n not in bursty and n not in DRIFTING],
                 [n for n in signs if n not in bursty], signs):
        if keep:
            return keep
    return list(CHANNELS)


def anomalous_now(detection: Detection, episode: Episode,
                  names: list[str] | None = None) -> bool:
    """Whether ``episode`` is an anomaly at the last tick of ``detection``.

    Off (``off_ticks``) at some tick since its latest alarm began and at every tick since:
    the first tick back on the baseline ends it, and only a fresh alarm (the CUSUM rising
    through its threshold again) can start it anew. A burst in the CUSUM's tail after the
    server came back is not the incident returning.
    """
    now = len(detection.panel.timestamps)
    if now <= episode.first_alarm:
        return False
    off = off_ticks(detection, episode, names)
    alarm = detection.alarm[episode.first_alarm:now, episode.column]
    rises = np.flatnonzero(alarm[1:] & ~alarm[:-1])
    since = episode.first_alarm + (int(rises[-1]) + 1 if len(rises) else 0)
    tail = off[since - episode.first:]
    hits = np.flatnonzero(tail)
    return bool(len(hits) and tail[int(hits[0]):].all())


def off_ticks(detection: Detection, episode: Episode,
              names: list[str] | None = None) -> npt.NDArray[np.bool_]:
    """Per tick from the episode's onset to the end of ``detection``: whether one of the
    channels ``names`` (default: its signature, or every channel when it has none) was
    ``extent_z`` sigma and ``extent_share`` of its peak so far off the baseline frozen at
    the onset — the analysis's extent test, on a trailing 10-minute median at a finer
    step."""
    base, cfg, step = detection.baseline, detection.config, detection.panel.step
    names = names or [n for n in CHANNELS if n in episode.signs] or list(CHANNELS)
    first, col = episode.first, episode.column
    now = len(detection.panel.timestamps)
    width = max(1, BLOCK // step)
    out = np.zeros(max(0, now - first), dtype=bool)
    for name in names:
        c = CHANNELS.index(name)
        dev = base.frozen(c, col, first, first, now) / base.sigma[c, first, col]
        level = _trailing_median(np.nan_to_num(dev, nan=0.0), width)
        peak = np.maximum.accumulate(level) if len(level) else level
        out |= level > np.maximum(cfg.extent_z, cfg.extent_share * peak)
    return out


def _trailing_median(values: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """Each value replaced by the median of the ``width`` values ending at it (causal)."""
    if width <= 1 or len(values) == 0:
        return values
    padded = np.concatenate([np.full(width - 1, values[0]), values])
    out: npt.NDArray[np.float64] = np.median(
        np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
    return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None

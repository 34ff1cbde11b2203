"""Per-server episodes: a run of alarms, from its estimated onset to its last anomalous tick.

An episode starts where the server's CUSUM run began (the lowest point of the running sum in
the window before the alarm), and ends at the last tick whose evidence still exceeded the
drift. A new alarm whose run began before, or within ``merge_gap`` of, the end of the
server's previous episode continues that episode. Channels whose own CUSUM reached half the threshold inside the episode are its
signature, each with its own onset, peak z and peak deviation from the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .detect import Detection
from .panel import CHANNELS, FloatArray

__all__ = ["ChannelSign", "Episode", "find_episodes"]


@dataclass(frozen=True, slots=True)
class ChannelSign:
    """One channel's part in an episode."""

    onset: int         # epoch seconds where its own CUSUM run began
    peak_z: float
    peak_delta: float  # value − baseline at the peak, in channel units
    baseline: float    # the baseline at the episode's onset


@dataclass(frozen=True, slots=True)
class Episode:
    """A server's anomaly from onset to end (epoch seconds, end exclusive) and its signature."""

    server_id: str
    column: int
    onset: int
    alarm: int
    end: int
    first: int   # tick index of the onset
    last: int    # tick index of the last anomalous tick
    signs: dict[str, ChannelSign]

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self.signs)


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Starts and (exclusive) ends of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _run_start(total: FloatArray, at: int, window: int) -> int:
    """The tick after the last minimum of the running sum in the window up to ``at``."""
    lo = max(0, at - window)
    segment = total[lo:at + 1]
    last_min = len(segment) - 1 - int(np.argmin(segment[::-1]))
    return lo + last_min + 1 if lo + last_min < at else at


def find_episodes(detection: Detection) -> list[Episode]:
    """Every episode of every server, ordered by onset."""
    step = detection.panel.step
    window = max(1, detection.config.window // step)
    gap = max(1, detection.config.merge_gap // step)
    hot = detection.evidence[-1] > detection.config.drift
    episodes = []
    for col, sid in enumerate(detection.panel.server_ids):
        starts, ends = _runs(detection.alarm[:, col])
        spans: list[list[int]] = []  # [first, alarm, last]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            last = a + int(np.flatnonzero(hot[a:b, col])[-1]) if hot[a:b, col].any() else a
            first = _run_start(detection.total[-1, :, col], a, window)
            if spans and first <= spans[-1][2] + gap:
                spans[-1][2] = max(spans[-1][2], last)  # the same anomaly, re-alarmed
            else:
                spans.append([first, a, last])
        episodes += [_episode(detection, sid, col, f, a, la, window) for f, a, la in spans]
    return sorted(episodes, key=lambda e: (e.onset, e.server_id))


def _episode(
    d: Detection, sid: str, col: int, first: int, alarm: int, last: int, window: int
) -> Episode:
    ts = d.panel.timestamps
    signs = {}
    half = d.config.threshold / 2
    base = d.baseline
    for c, name in enumerate(CHANNELS):
        score = d.score[c, first:last + 1, col]
        if not np.any(score >= half):
            continue
        cross = first + int(np.argmax(score >= half))
        z = np.nan_to_num(base.z[c, first:last + 1, col], nan=-np.inf)
        peak = first + int(np.argmax(z))
        c_first = _run_start(d.total[c, :, col], cross, window)
        signs[name] = ChannelSign(
            onset=int(ts[c_first]),
            peak_z=float(base.z[c, peak, col]),
            peak_delta=float(base.z[c, peak, col] * base.sigma[c, peak, col]),
            baseline=float(base.mu[c, first, col]),
        )
    step = d.panel.step
    return Episode(sid, col, int(ts[first]), int(ts[alarm]), int(ts[last]) + step, first, last,
                   signs)

"""Per-server episodes: a run of alarms, from its estimated onset to its last anomalous tick.

An episode starts where the server's CUSUM run began (the lowest point of the running sum in
the window before the alarm). Its end is the last tick at which a channel of its signature
was still ``extent_z`` off the baseline frozen at the onset (the live baseline slowly takes a
long incident for the new normal; the frozen one does not), and never before its last alarm.
A new alarm whose run began before, or within ``merge_gap`` of, that end continues the
episode. Channels whose own CUSUM reached half the threshold inside the episode are its
signature, each with its own onset, peak z and peak deviation from the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .baseline import BLOCK, DRIFTING
from .detect import TICK_UNIT, Detection
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
    first_alarm: int
    last: int    # tick index of the last anomalous tick
    last_extent: int  # tick index of the last tick still off the baseline frozen at onset
    signs: dict[str, ChannelSign]
    began: int   # the reported start: the onset, or earlier for a gradual rise (_ramp_start)

    @property
    def extent(self) -> int:
        """Seconds after the onset while the server stayed off its pre-onset baseline."""
        return self.end - self.onset

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
        mine: list[Episode] = []
        for a, last, after in _segments(detection, col, starts.tolist(), ends.tolist(), hot):
            first = _run_start(detection.total[-1, :, col], a, min(window, a - after))
            if mine and first <= mine[-1].last_extent + gap:
                # the same anomaly, re-alarmed (a leak's latency phase, a slow ramp)
                prev = mine.pop()
                first, a, last = prev.first, prev.first_alarm, max(prev.last, last)
            mine.append(_episode(detection, sid, col, first, a, last, window))
        episodes += mine
        episodes += [c for e in mine for c in _fresh_starts(detection, e, window)]
    return sorted(episodes, key=lambda e: (e.onset, e.server_id))


def _segments(
    d: Detection, col: int, starts: list[int], ends: list[int], hot: npt.NDArray[np.bool_]
) -> list[tuple[int, int, int]]:
    """(alarm tick, last hot tick, bound) of each anomaly in the server's alarm runs.

    The CUSUM stays over its threshold for up to its window after a strong incident, so one
    alarm run can hold two incidents. A run splits where the server's evidence was quiet for
    ``split_quiet`` seconds and then, from the next hot tick on, gained the threshold again;
    that tick is the second anomaly's alarm, and its onset is sought after the first's last
    hot tick (the third value; −1 when the run began afresh).
    """
    cfg, step = d.config, d.panel.step
    quiet = max(1, cfg.split_quiet // step)
    gain = (d.evidence[-1, :, col] - cfg.drift) * (step / TICK_UNIT)
    out = []
    for a, b in zip(starts, ends, strict=True):
        ticks = a + np.flatnonzero(hot[a:b, col])
        if not len(ticks):
            out.append((a, a, -1))
            continue
        alarm, last, after = a, int(ticks[0]), -1
        for i in ticks.tolist():
            if i - last > quiet:
                sums = np.cumsum(gain[i:b])
                reach = np.flatnonzero(sums >= cfg.threshold)
                if len(reach):
                    out.append((alarm, last, after))
                    alarm, after = i + int(reach[0]), last
            last = i
        out.append((alarm, last, after))
    return out


def _fresh_starts(d: Detection, parent: Episode, window: int) -> list[Episode]:
    """Second incidents inside an episode: ``fresh_channels`` or more channels whose own
    CUSUM runs all begin within ``fresh_span`` of each other, at least ``fresh_after`` into
    the episode (a cascade striking a server that was already degrading). Each becomes an
    episode of its own, overlapping its parent."""
    cfg, step = d.config, d.panel.step
    lo = parent.first + cfg.fresh_after // step
    hi = parent.last_extent + 1
    if hi - lo < 2:
        return []
    half = cfg.threshold / 2
    starts = []
    for c in range(len(CHANNELS)):
        score = d.score[c, lo - 1:hi, parent.column]
        for cross in np.flatnonzero((score[1:] >= half) & (score[:-1] < half)).tolist():
            starts.append((_run_start(d.total[c, :, parent.column], lo + cross, window),
                           lo + cross, c))
    starts.sort()
    children: list[Episode] = []
    i = 0
    while i < len(starts):
        j = i
        while j + 1 < len(starts) and starts[j + 1][0] - starts[i][0] <= cfg.fresh_span // step:
            j += 1
        cluster = starts[i:j + 1]
        if len({c for _, _, c in cluster}) >= cfg.fresh_channels and cluster[0][0] >= lo:
            first, alarm = cluster[0][0], max(a for _, a, _ in cluster)
            children.append(_episode(d, parent.server_id, parent.column, first, alarm,
                                     max(alarm, parent.last), window))
        i = j + 1
    return children


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
    idx = [CHANNELS.index(n) for n in signs]
    extent = _extent(d, col, first, last, idx)
    began = int(ts[first])
    leading = {n for n, s in signs.items() if s.onset <= ts[first] + 600}
    if leading and leading <= set(DRIFTING):  # a resource filling up, nothing else yet
        began = int(ts[_ramp_start(d, col, first, alarm, [CHANNELS.index(n) for n in leading])])
    elif leading and d.config.rise_fit:
        began = _rise_start(d, col, first, alarm, [CHANNELS.index(n) for n in leading])
    return Episode(sid, col, int(ts[first]), int(ts[alarm]), int(ts[extent]) + step, first,
                   alarm, last, extent, signs, began)


def _ramp_start(d: Detection, col: int, first: int, alarm: int, idx: list[int]) -> int:
    """An earlier onset for resources that fill up gradually (memory, disk: ``idx``): where a
    line through the rise (between ``ramp_low`` and ``ramp_high`` of its height) meets zero,
    at most ``ramp_back`` seconds before the CUSUM's own estimate. A step keeps its onset."""
    cfg = d.config
    step = d.panel.step
    lo = max(0, first - cfg.ramp_back // step)
    hi = min(len(d.panel.timestamps), alarm + cfg.ramp_ahead // step + 1)
    if not idx or hi - lo < 4:
        return first
    z = np.clip(np.nan_to_num(d.baseline.z[idx, lo:hi, col]), 0.0, None)
    peaks = z[:, first - lo:].max(axis=1, initial=0.0)
    if not np.all(peaks > cfg.k):
        return first
    rise = (z / peaks[:, None]).mean(axis=0)
    top = first - lo + int(np.argmax(rise[first - lo:] >= cfg.ramp_high))
    pick = np.flatnonzero((rise[:top + 1] >= cfg.ramp_low) & (rise[:top + 1] <= cfg.ramp_high))
    if len(pick) < 3:
        return first
    slope, intercept = np.polyfit(pick.astype(np.float64), rise[pick], 1)
    if slope <= 0:
        return first
    start = int(np.ceil(-intercept / slope))
    return int(np.clip(lo + start, lo, first))


def _extent(d: Detection, col: int, first: int, last: int, idx: list[int]) -> int:
    """The last tick (from ``last`` on) at which a signature channel was still ``extent_z``
    off the baseline frozen at the onset, with no quiet stretch longer than ``extent_gap``."""
    step = d.panel.step
    hi = min(len(d.panel.timestamps), first + d.config.extent_span // step + 1)
    if not idx or hi <= last + 1:
        return last
    base = d.baseline
    off = np.stack([base.frozen(c, col, first, first, hi) / base.sigma[c, first, col]
                    for c in idx])
    off = _block_median(np.nan_to_num(off, nan=0.0), BLOCK // step)
    # still off: extent_z, and a share of the channel's own peak while it alarmed
    peak = off[:, :last - first + 1].max(axis=1, keepdims=True)
    floor = np.maximum(d.config.extent_z, d.config.extent_share * peak)
    hot = np.flatnonzero((off[:, last - first:] > floor).any(axis=0))
    if len(hot) == 0:
        return last
    breaks = np.flatnonzero(np.diff(np.concatenate([[0], hot])) > d.config.extent_gap // step)
    if not len(breaks):
        return last + int(hot[-1])
    return last + int(hot[breaks[0] - 1]) if breaks[0] > 0 else last


def _block_median(values: FloatArray, width: int) -> FloatArray:
    """Each tick replaced by the median of its run of ``width`` ticks (consecutive runs from
    the first tick): a 10-minute median at a finer step, at a twentieth of a sliding one's
    cost."""
    n = values.shape[1]
    if width <= 1 or n < width:
        return values
    runs = -(-n // width)
    padded = np.pad(values, ((0, 0), (0, runs * width - n)), mode="edge")
    medians = np.median(padded.reshape(values.shape[0], runs, width), axis=2)
    out: FloatArray = np.repeat(medians, width, axis=1)[:, :n]
    return out


def _smooth(values: FloatArray, width: int) -> FloatArray:
    """Centred running median over ``width`` ticks along axis 1 (smooths a finer step):
    at 30 s single ticks are noisy enough that some tick is 4 sigma off every hour."""
    if width <= 1 or values.shape[1] < width:
        return values
    pad = width // 2
    padded = np.pad(values, ((0, 0), (pad, width - 1 - pad)), mode="edge")
    out: FloatArray = np.median(np.lib.stride_tricks.sliding_window_view(padded, width, axis=1),
                                axis=2)
    return out


_LOG_CHANNELS = ("latency", "conn", "net")


def _rise_start(d: Detection, col: int, first: int, alarm: int, idx: list[int]) -> int:
    """The onset of a rise (epoch seconds), at most the CUSUM's own estimate.

    CUSUM's run starts once the deviation clears its noise, a good part of the way up a
    smooth rise. The rising edge — the stretch of the leading channels' mean scaled deviation
    (2.5-minute running median at a finer step) that climbs from ``ramp_low`` to
    ``ramp_high`` of its peak — is fitted as a power of the time since the onset, linear or
    quadratic, whichever fits better; where it meets zero is the onset. At most ``ramp_back``
    earlier; a step keeps its tick.
    """
    cfg, step = d.config, d.panel.step
    ts = d.panel.timestamps
    lo = max(0, first - cfg.ramp_back // step)
    hi = min(len(ts), alarm + cfg.ramp_ahead // step + 1)
    if hi - lo < 4:
        return int(ts[first])
    base = d.baseline
    dev = np.nan_to_num(base.z[idx, lo:hi, col] * base.sigma[idx, lo:hi, col])
    logs = [i for i, c in enumerate(idx) if CHANNELS[c] in _LOG_CHANNELS]
    dev[logs] = np.expm1(dev[logs])  # in the metric's own units: a ratio, not its log
    z = np.clip(dev / base.sigma[idx, first, col][:, None], 0.0, None)
    width = max(1, BLOCK // step // 4)
    z = _smooth(z, width) if width > 1 else z
    peaks = z[:, first - lo:].max(axis=1, initial=0.0)
    if not np.all(peaks > 0):
        return int(ts[first])
    rise = (z / peaks[:, None]).mean(axis=0)
    above = np.flatnonzero(rise[first - lo:] >= cfg.ramp_high)
    if not len(above):
        return int(ts[first])
    top = first - lo + int(above[0])
    low = np.flatnonzero(rise[:top + 1] < cfg.ramp_low)
    edge = np.arange(int(low[-1]) + 1 if len(low) else 0, top + 1)
    if len(edge) < 3:
        return int(ts[first])
    t = edge.astype(np.float64)
    y = rise[edge]
    best, start = np.inf, float(first - lo)
    for power in (1.0, 2.0):
        slope, intercept = np.polyfit(t, y ** (1.0 / power), 1)
        if slope <= 0:
            continue
        fitted = np.clip(slope * t + intercept, 0.0, None) ** power
        err = float(np.sum((fitted - y) ** 2))
        if err < best:
            best, start = err, -intercept / slope
    start = max(start, 2.0 * edge[0] - edge[-1])  # back at most the edge's own length
    at = lo * step + start * step  # seconds from the panel's first tick
    return int(np.clip(ts[0] + at, ts[lo], ts[first]))

"""Anomaly detection: z-scores become evidence, evidence accumulates per server (CUSUM).

For every server and tick (see docs/analysis.md, "Detection"):

* evidence of a channel = min(z − k, cap), at least 0. ``cap`` is learned per server and
  channel: log(1 / q), q being how often z exceeded ``tail_z`` over the previous days — a
  channel that routinely bursts (an API server's CPU) proves less per tick than one that never
  moves (connections per unit of traffic).
* CPU and latency move together under load (congestion), so they count once: the larger of
  the two. The other channels add up.
* A one-sided, windowed CUSUM per server, in units of "evidence × 10 minutes" so that 600-s
  and 30-s data accumulate alike: with gains g = (evidence − drift) × step / 600 and C their
  running sum, S_t = C_t − min(C over the last ``window``) — the largest sum of gains over any
  run that ends now and began within the window. An alarm while S ≥ ``threshold``. The run's
  start (where C was lowest) is CUSUM's change-point estimate, so an incident's start does
  not wait for its alarm; the window makes old evidence expire.

Cumulative sums and sliding minima are exact for any split of the ticks once the state
(C and its last ``window`` values) is carried: ``DetectorState``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .baseline import Baseline, BaselineConfig, Blocks, compute_baseline
from .panel import CHANNELS, FloatArray, IntArray, Panel, channels, resolution

__all__ = [
    "Detection",
    "DetectorConfig",
    "DetectorState",
    "TICK_UNIT",
    "detect",
    "evidence",
    "gains",
    "weigh",
    "run_cusum",
    "sliding_min",
    "caps",
    "sustained",
    "burst_rates",
]

TICK_UNIT = 600  # evidence is counted per 10 minutes of data, whatever the step
DAY = 86_400
_COUPLED = (CHANNELS.index("cpu"), CHANNELS.index("latency"))


@dataclass(frozen=True)
class DetectorConfig:
    """Detection parameters (z units, and evidence × 10 minutes for drift and threshold)."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    k: float = 2.0
    tail_z: float = 4.0
    tail_days: int = 7
    tail_prior: float = 0.02
    tail_floor: float = 1e-3
    cap_offset: float = 1.0
    cap_min: float = 4.0
    cap_max: float = 7.5
    bursty: float = 0.01
    burst_cap: float = 2.0
    persist: int = 600
    drift: float = 1.0
    threshold: float = 7.5
    window: int = 2 * 3600  # seconds of evidence a CUSUM run may span
    merge_gap: int = 30 * 60  # a server's alarms this close are one episode
    split_quiet: int = 30 * 60  # an alarm run quiet this long may hold a second anomaly
    extent_z: float = 4.0
    extent_share: float = 0.25
    extent_gap: int = 3600
    extent_span: int = 12 * 3600
    fresh_after: int = 1800  # a second incident inside an episode: this far into it,
    fresh_span: int = 1200   # this many channels starting together within this span
    fresh_channels: int = 3
    ramp_back: int = 3600    # how far before the CUSUM onset a gradual rise may be traced
    ramp_ahead: int = 1800
    ramp_low: float = 0.1
    ramp_high: float = 0.6
    rise_fit: bool = True    # onsets of other rises from a fit of their edge


@dataclass
class DetectorState:
    """What the CUSUM carries between calls: per (K, S) the running total C and its last
    ``window`` values (with their ticks), enough to continue exactly where it stopped."""

    total: FloatArray    # (K, S)
    history: FloatArray  # (K, window, S): C at the previous ``window`` ticks, +inf if none

    @classmethod
    def fresh(cls, servers: int, window: int, channels: int = len(CHANNELS) + 1) -> DetectorState:
        history = np.full((channels, window, servers), np.inf)
        history[:, -1] = 0.0  # C before the first tick
        return cls(np.zeros((channels, servers)), history)


@dataclass(frozen=True)
class Detection:
    """Detector output over a panel. Arrays are (ticks × servers) unless noted.

    ``score``/``total`` hold one row per channel and a last row for the server as a whole
    (C + 1, T, S): the windowed CUSUM value and the running sum of gains it is built from.
    """

    panel: Panel
    baseline: Baseline
    evidence: FloatArray  # (C + 1, T, S); last row: the server's combined evidence
    score: FloatArray
    total: FloatArray  # (C + 1, T, S): the running sum C of gains (locates onsets)
    alarm: npt.NDArray[np.bool_]  # the server's CUSUM at or above the threshold
    config: DetectorConfig

    def ticks(self, lo: int, hi: int) -> Detection:
        """Ticks [lo, hi) only (indices): what the detector had seen by tick ``hi - 1``
        when ``hi`` is the end — every array is causal — over a shorter past."""
        b, p = self.baseline, self.panel
        return Detection(
            Panel(p.timestamps[lo:hi], p.server_ids, p.step,
                  {m: v[lo:hi] for m, v in p.values.items()}),
            Baseline(b.values[:, lo:hi], b.mu[:, lo:hi], b.sigma[:, lo:hi], b.z[:, lo:hi],
                     b.profile[:, lo:hi]),
            self.evidence[:, lo:hi], self.score[:, lo:hi], self.total[:, lo:hi],
            self.alarm[lo:hi], self.config)


def burst_rates(
    z: FloatArray, held: FloatArray, timestamps: IntArray, step: int, config: DetectorConfig
) -> FloatArray:
    """Per tick, q: how often z jumped past tail_z without holding there for ``persist``
    seconds, over the previous ``tail_days`` (the prior before any day exists).

    Long excursions are incidents, not the channel's character, so they do not count.
    """
    blocks = Blocks.of(timestamps, step)
    if blocks.per_day == 0 or len(timestamps) == 0:
        return np.full(z.shape, config.tail_prior)
    gathered = blocks.gather(np.where(held > config.tail_z, 0.0, z))
    over = np.sum(gathered > config.tail_z, axis=2).astype(np.float64)
    seen = np.sum(~np.isnan(gathered), axis=2).astype(np.float64)
    over_day, offset = blocks.by_day(over)
    seen_day, _ = blocks.by_day(seen)
    days = config.tail_days
    cum_over = _cumulative_days(np.nan_to_num(over_day).sum(axis=2))
    cum_seen = _cumulative_days(np.nan_to_num(seen_day).sum(axis=2))
    n_days = over_day.shape[1]
    lo = np.maximum(np.arange(n_days) - days, 0)
    hits = cum_over[:, np.arange(n_days)] - cum_over[:, lo]
    seen_n = cum_seen[:, np.arange(n_days)] - cum_seen[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(seen_n >= blocks.per_day * blocks.per_block / 2, hits / seen_n,
                        config.tail_prior)
    return rate[:, (offset + blocks.tick_block) // blocks.per_day]


def caps(rate: FloatArray, config: DetectorConfig) -> FloatArray:
    """The most evidence one tick of a channel can give: log(1 / q) + offset, clipped."""
    surprise = np.log(1.0 / np.maximum(rate, config.tail_floor)) + config.cap_offset
    return np.clip(surprise, config.cap_min, config.cap_max)


def _cumulative_days(per_day: FloatArray) -> FloatArray:
    """(C, D, S) per-day sums → (C, D + 1, S) sums of all days before each index."""
    c, _, s = per_day.shape
    return np.concatenate([np.zeros((c, 1, s)), np.cumsum(per_day, axis=1)], axis=1)


def sustained(z: FloatArray, step: int, config: DetectorConfig) -> FloatArray:
    """z that held for ``persist`` seconds: the minimum over that trailing span."""
    width = config.persist // step + 1
    if width <= 1:
        return z
    c, _, s = z.shape
    filled = np.nan_to_num(z, nan=-np.inf)
    padded = np.concatenate([np.full((c, width - 1, s), -np.inf), filled], axis=1)
    return sliding_min(padded, width)


def evidence(
    z: FloatArray, held: FloatArray, rate: FloatArray, config: DetectorConfig
) -> FloatArray:
    """(C + 1, T, S): each channel's evidence, then the server's (coupled channels once).

    Where a channel bursts often (q above ``bursty``), z that held for ``persist`` seconds
    counts in full and a lone jump only up to ``burst_cap``: one-slot bursts are its life.
    """
    cap = caps(rate, config)
    full = np.clip(np.nan_to_num(z - config.k, nan=0.0), 0.0, cap)
    kept = np.clip(np.nan_to_num(held - config.k, nan=0.0, neginf=0.0), 0.0, cap)
    each = np.where(rate > config.bursty, np.maximum(kept, np.minimum(full, config.burst_cap)),
                    full)
    out = np.empty((each.shape[0] + 1, *each.shape[1:]))
    out[:-1] = each
    coupled = np.max(each[list(_COUPLED)], axis=0)
    others = [i for i in range(each.shape[0]) if i not in _COUPLED]
    out[-1] = coupled + each[others].sum(axis=0)
    return out


def sliding_min(values: FloatArray, width: int) -> FloatArray:
    """Minimum over each run of ``width`` consecutive values along axis 1 (van Herk/Gil-Werman).

    (K, N, S) → (K, N − width + 1, S); exact, in three vectorised passes whatever the width.
    """
    k, n, s = values.shape
    blocks = -(-n // width)
    padded = np.full((k, blocks * width, s), np.inf)
    padded[:, :n] = values
    shaped = padded.reshape(k, blocks, width, s)
    prefix = np.minimum.accumulate(shaped, axis=2).reshape(k, -1, s)
    suffix = np.minimum.accumulate(shaped[:, :, ::-1], axis=2)[:, :, ::-1].reshape(k, -1, s)
    count = n - width + 1
    return np.minimum(suffix[:, :count], prefix[:, width - 1:width - 1 + count])


def run_cusum(gain: FloatArray, state: DetectorState) -> tuple[FloatArray, FloatArray]:
    """Windowed CUSUM over (K, T, S) per-tick gains, continuing ``state`` (updated in place).

    S_t = C_t − min(C over the window before and at t): the best sum of gains over any run
    ending at t and starting within the window. Returns (S, C) for the ticks.
    """
    window = state.history.shape[1]
    total = np.cumsum(np.concatenate([state.total[:, None], gain], axis=1), axis=1)[:, 1:]
    joined = np.concatenate([state.history, total], axis=1)
    score = total - sliding_min(joined, window + 1)
    if gain.shape[1]:
        state.total = total[:, -1]
        state.history = joined[:, -window:]
    return score, total


def weigh(panel: Panel, config: DetectorConfig) -> tuple[Baseline, FloatArray]:
    """Baselines and per-tick evidence (C + 1, T, S) over a panel: everything but the CUSUM."""
    values = channels(panel)
    base = compute_baseline(values, panel.timestamps, panel.step, config.baseline,
                            resolution(panel))
    held = sustained(base.z, panel.step, config)
    rate = burst_rates(base.z, held, panel.timestamps, panel.step, config)
    return base, evidence(base.z, held, rate, config)


def gains(ev: FloatArray, step: int, config: DetectorConfig) -> FloatArray:
    """What each tick adds to the CUSUM: (evidence − drift), per 10 minutes of data."""
    return (ev - config.drift) * (step / TICK_UNIT)


def detect(
    panel: Panel, config: DetectorConfig | None = None, state: DetectorState | None = None
) -> Detection:
    """Run baselines, evidence and CUSUM over a whole panel (the batch form of OnlineDetector)."""
    config = config or DetectorConfig()
    base, ev = weigh(panel, config)
    window = max(1, config.window // panel.step)
    state = state or DetectorState.fresh(len(panel.server_ids), window, ev.shape[0])
    score, total = run_cusum(gains(ev, panel.step, config), state)
    alarm = score[-1] >= config.threshold
    return Detection(panel, base, ev, score, total, alarm, config)

"""Per server × channel baselines learned from the past: what each value should be, and its spread.

Expected value at tick t (see docs/analysis.md, "Baselines"):

    mu(t) = P_day(t)[slot(t)] + L(t)

* P, the profile: for each 10-minute slot of the day, the median of that slot over the
  previous ``profile_days`` days (the shape of business hours, nightly batch and maintenance
  windows); by slot of the week over the previous ``profile_weeks`` weeks once ``min_weeks``
  of them exist. Zero while no earlier day exists.
* L, the level: the median of (value − P) over the trailing ``level_window`` — it follows
  restarts, weekends and slow drifts the daily profile cannot know.
* sigma: 1.4826 × the median absolute residual over the previous ``scale_days`` days (while
  there is no earlier day, over the trailing level window), never below a per-channel floor.

Everything at t uses only complete 10-minute blocks before t and whole days before t's day;
blocks and days sit on the UTC epoch grid, so the same tick gets the same baseline whatever
window it was computed in. ``mode="adaptive"`` is the seeds' variant: means and standard
deviations instead of medians and MADs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from .panel import CHANNELS, FloatArray, IntArray
from .stats import MAD_TO_SIGMA, nanmean_std, nanmedian

__all__ = ["BaselineConfig", "Baseline", "Blocks", "compute_baseline", "lookback_seconds"]

DAY = 86_400
BLOCK = 600

# Smallest credible spread per channel (percent points, or log units): below it a flat
# series would turn rounding into "anomalies".
# Channel kinds. Stationary channels follow business hours: their profile is the median
# level of each slot. Memory drifts (creep, restarts) but also follows the day: its profile
# comes from increments. Drifting channels get a slope in their level.
LEVEL_PROFILE = ("cpu", "latency", "net")
INCREMENT_PROFILE = ("memory",)
DRIFTING = ("memory", "disk")

SCALE_FLOOR: dict[str, float] = {
    "cpu": 0.5, "memory": 0.25, "disk": 0.05, "latency": 0.03, "conn": 0.015, "net": 0.03,
}


@dataclass(frozen=True)
class BaselineConfig:
    """How baselines learn. Durations are seconds, so 600-s and 30-s data behave alike."""

    mode: Literal["robust", "adaptive"] = "robust"
    seasonality: Literal["auto", "day"] = "day"
    profile_weeks: int = 4
    min_weeks: int = 3
    profile_days: int = 7
    level_window: int = 3 * 3600
    scale_days: int = 7
    min_level_share: float = 0.34  # of the level window that must hold data


def lookback_seconds(config: BaselineConfig) -> int:
    """History before the current UTC day that fixes every baseline of that day."""
    weeks = 7 * config.profile_weeks if config.seasonality == "auto" else 0
    return DAY * max(config.profile_days, config.scale_days, weeks)


@dataclass(frozen=True)
class Blocks:
    """How ticks map onto 10-minute blocks and blocks onto UTC days."""

    size: int          # seconds per block
    per_block: int     # ticks per block
    first: int         # absolute index (epoch // size) of the first block
    count: int
    tick_block: IntArray  # each tick's block, relative to ``first``
    tick_pos: IntArray    # each tick's position inside its block
    per_day: int       # blocks per day (0: the block does not divide a day; no profile)

    @classmethod
    def of(cls, timestamps: IntArray, step: int) -> Blocks:
        size = BLOCK if BLOCK % step == 0 else step
        first = int(timestamps[0]) // size if len(timestamps) else 0
        tick_block = timestamps // size - first
        count = int(tick_block[-1]) + 1 if len(timestamps) else 0
        per_day = DAY // size if DAY % size == 0 else 0
        return cls(size, size // step if size % step == 0 else 1, first, count,
                   tick_block, (timestamps % size) // step, per_day)

    def gather(self, values: FloatArray) -> FloatArray:
        """(C, T, S) tick values as (C, blocks, ticks per block, S), NaN-padded."""
        c, _, s = values.shape
        out = np.full((c, self.count, self.per_block, s), np.nan)
        pos = np.minimum(self.tick_pos, self.per_block - 1)
        out[:, self.tick_block, pos] = values
        return out

    def by_day(self, per_block: FloatArray) -> tuple[FloatArray, int]:
        """(C, blocks, S) as (C, days, blocks per day, S) and the front padding in blocks."""
        c, n, s = per_block.shape
        offset = (self.first * self.size % DAY) // self.size
        days = -(-(offset + n) // self.per_day)
        out = np.full((c, days * self.per_day, s), np.nan)
        out[:, offset:offset + n] = per_block
        return out.reshape(c, days, self.per_day, s), offset


@dataclass(frozen=True)
class Baseline:
    """Channel values with their expected values, spreads, z-scores and daily-profile part,
    each (C, T, S)."""

    values: FloatArray
    mu: FloatArray
    sigma: FloatArray
    z: FloatArray
    profile: FloatArray

    def frozen(self, channel: int, col: int, at: int, lo: int, hi: int) -> FloatArray:
        """Deviation over ticks [lo, hi) from the baseline as it stood at tick ``at``.

        The daily profile keeps moving (business hours still come), the level does not: a
        slow leak stays visible however long it lasts.
        """
        level = self.mu[channel, at, col] - self.profile[channel, at, col]
        expected = self.profile[channel, lo:hi, col] + level
        out: FloatArray = self.values[channel, lo:hi, col] - expected
        return out


def _center(values: FloatArray, mode: str, axis: int = -1) -> tuple[FloatArray, FloatArray]:
    """Centre (median or mean) along ``axis`` and how many values it rests on."""
    if mode == "adaptive":
        mean, _ = nanmean_std(values, axis)
        return mean, np.sum(~np.isnan(values), axis=axis).astype(np.float64)
    median, count = nanmedian(values, axis)
    return median, count.astype(np.float64)


def _daily_windows(blocks: Blocks, per_block: FloatArray, days: int) -> tuple[FloatArray, int]:
    """(C, blocks, S) → (C, days, per_day, S, ``days``): each day's previous ``days`` days."""
    c = per_block.shape[0]
    daily, offset = blocks.by_day(per_block)
    padded = np.concatenate([np.full((c, days, *daily.shape[2:]), np.nan), daily], axis=1)
    return sliding_window_view(padded, days, axis=1)[:, : daily.shape[1]], offset


def _finish_profile(
    profile: FloatArray, count: npt.NDArray[np.intp], offset: int, n: int,
    level: FloatArray | None = None,
) -> FloatArray:
    """Profile per block less a level (by default its own day's median: level-free); a day
    without history gets none (zeros)."""
    c, _, _, s = profile.shape
    if level is None:
        level, _ = nanmedian(profile, axis=2)
    profile = np.where(count > 0, profile - level[:, :, None, :], 0.0)
    profile = np.where(np.isnan(level)[:, :, None, :], 0.0, profile)
    return profile.reshape(c, -1, s)[:, offset:offset + n]


def _weekly_windows(blocks: Blocks, per_block: FloatArray, weeks: int) -> FloatArray:
    """(C, blocks, S) → (C, days, per_day, S, ``weeks``): the same weekday in earlier weeks."""
    c = per_block.shape[0]
    daily, _ = blocks.by_day(per_block)
    pad = 7 * weeks
    padded = np.concatenate([np.full((c, pad, *daily.shape[2:]), np.nan), daily], axis=1)
    index = pad + np.arange(daily.shape[1])[:, None] - 7 * np.arange(1, weeks + 1)[None, :]
    return np.moveaxis(padded[:, index], 2, -1)


def _profile_levels(blocks: Blocks, values: FloatArray, config: BaselineConfig) -> FloatArray:
    """Profile of a stationary channel: per slot, the centre over the previous days — or,
    once ``min_weeks`` earlier weeks exist (``seasonality="auto"``), over the same slot of
    the week in the previous ``profile_weeks`` weeks, which also knows weekends."""
    windows, offset = _daily_windows(blocks, values, config.profile_days)
    profile, count = _center(windows, config.mode)
    if config.seasonality == "auto" and config.profile_weeks:
        weekly, week_count = _center(_weekly_windows(blocks, values, config.profile_weeks),
                                     config.mode)
        ready = np.mean(week_count >= config.min_weeks, axis=(0, 2, 3)) >= 0.9  # per day
        if ready.any():
            # less the daily profile's level, not its own: a weekend keeps its offset
            level, _ = nanmedian(profile, axis=2)
            day = _finish_profile(profile, count.astype(np.intp), offset, values.shape[1])
            week = _finish_profile(weekly, week_count.astype(np.intp), offset,
                                   values.shape[1], level)
            flags = np.repeat(ready, blocks.per_day)[offset:offset + values.shape[1]]
            return np.where(flags[None, :, None], week, day)
    return _finish_profile(profile, count.astype(np.intp), offset, values.shape[1])


def _profile_increments(blocks: Blocks, values: FloatArray, config: BaselineConfig) -> FloatArray:
    """Daily profile of a drifting channel, from the typical change between adjacent slots.

    Medians of levels would jump wherever a restart or a weekly clean-up falls on one of the
    days; medians of increments shrug such a day off, and removing their daily mean leaves
    the periodic part only (the drift is the level's and the slope's business).
    """
    c, n, s = values.shape
    previous = np.concatenate([np.full((c, 1, s), np.nan), values[:, :-1]], axis=1)
    windows, offset = _daily_windows(blocks, values - previous, config.profile_days)
    step, count = _center(windows, config.mode)
    step = np.where(count > 0, step, 0.0)
    step -= step.mean(axis=2, keepdims=True)
    return _finish_profile(np.cumsum(step, axis=2), count.astype(np.intp), offset, n)


def _profiles(blocks: Blocks, values: FloatArray, config: BaselineConfig) -> FloatArray:
    """P per block for every channel, by the channel's kind (zero for the flat ones)."""
    out = np.zeros_like(values)
    if blocks.per_day == 0 or config.profile_days == 0:
        return out
    levels = [CHANNELS.index(c) for c in LEVEL_PROFILE]
    steps = [CHANNELS.index(c) for c in INCREMENT_PROFILE]
    out[levels] = _profile_levels(blocks, values[levels], config)
    out[steps] = _profile_increments(blocks, values[steps], config)
    return out


def _trailing(values: FloatArray, width: int) -> FloatArray:
    """(C, N, S) → (C, N, S, width): for each block, the ``width`` blocks before it."""
    c, n, s = values.shape
    padded = np.concatenate([np.full((c, width, s), np.nan), values], axis=1)
    return sliding_window_view(padded, width, axis=1)[:, :n]


def _mixed(profile: FloatArray, width: int) -> npt.NDArray[np.bool_]:
    """(C, N): whether a block's trailing window straddles the day its profile first appears."""
    has = np.any(profile != 0.0, axis=2).astype(np.int64)
    flags = np.concatenate([np.full((has.shape[0], width), -1), has], axis=1)
    windows = sliding_window_view(flags, width + 1, axis=1)[:, : has.shape[1]]
    mixed: npt.NDArray[np.bool_] = np.any((windows != windows[..., -1:]) & (windows >= 0), axis=2)
    return mixed


def _level(
    residual: FloatArray, mixed: npt.NDArray[np.bool_], width: int, config: BaselineConfig
) -> tuple[FloatArray, FloatArray]:
    """L per block from the trailing residuals, and the drift slope (per block) for drifters.

    The slope compares the last and first thirds of the window; it is never negative, so a
    restart or clean-up (a drop) cannot make the baseline dive below the data.
    """
    windows = _trailing(residual, width)
    level, count = _center(windows, config.mode)
    level = np.where((count >= config.min_level_share * width) & ~mixed[:, :, None], level,
                     np.nan)
    slope = np.zeros_like(level)
    third = width // 3
    drifting = [CHANNELS.index(c) for c in DRIFTING]
    if third and drifting:
        first, _ = _center(windows[drifting, :, :, :third], config.mode)
        last, _ = _center(windows[drifting, :, :, -third:], config.mode)
        slope[drifting] = np.maximum(np.nan_to_num((last - first) / (width - third)), 0.0)
    return level, slope


def _spread(blocks: Blocks, dev: FloatArray, width: int, config: BaselineConfig) -> FloatArray:
    """sigma per block from per-block deviations ``dev`` (median |r|, or mean r² if adaptive).

    The larger of the day-wide spread and the spread usual at that time of day (a nightly
    batch makes a worker's latency jittery at 03:00 only); the trailing window while no
    earlier day exists.
    """
    recent, recent_n = _center(_trailing(dev, width), config.mode)
    sigma = np.where(recent_n >= config.min_level_share * width, recent, np.nan)
    if blocks.per_day and config.scale_days:
        per_block = np.fmax(_day_spread(blocks, dev, config), _slot_spread(blocks, dev, config))
        sigma = np.where(np.isnan(per_block), sigma, per_block)
    sigma = np.sqrt(sigma) if config.mode == "adaptive" else MAD_TO_SIGMA * sigma
    floor = np.array([SCALE_FLOOR[name] for name in CHANNELS])[:, None, None]
    out: FloatArray = np.maximum(sigma, floor)
    return out


def _day_spread(blocks: Blocks, dev: FloatArray, config: BaselineConfig) -> FloatArray:
    """Per block: the centre of ``dev`` over the previous ``scale_days`` whole days."""
    c, n, s = dev.shape
    windows, offset = _daily_windows(blocks, dev, config.scale_days)
    merged = np.swapaxes(windows, 2, 3).reshape(c, windows.shape[1], s, -1)
    by_day, count = _center(merged, config.mode)
    by_day = np.where(count >= blocks.per_day / 2, by_day, np.nan)
    return by_day[:, (offset + np.arange(n)) // blocks.per_day]


def _slot_spread(blocks: Blocks, dev: FloatArray, config: BaselineConfig) -> FloatArray:
    """Per block: the centre of ``dev`` at the same slot ±1 over the previous days."""
    c, n, s = dev.shape
    windows, offset = _daily_windows(blocks, dev, config.scale_days)
    around = np.concatenate([np.roll(windows, shift, axis=2) for shift in (-1, 0, 1)], axis=-1)
    by_slot, count = _center(around, config.mode)
    by_slot = np.where(count >= 3, by_slot, np.nan)
    return by_slot.reshape(c, -1, s)[:, offset:offset + n]


def _block_deviation(blocks: Blocks, residual: FloatArray, mode: str) -> FloatArray:
    """Per block: median |r| (robust) or mean r² (adaptive) over its ticks."""
    gathered = blocks.gather(residual)
    if mode == "adaptive":
        squared = gathered * gathered
        mean, _ = nanmean_std(squared, axis=2)
        return mean
    median, _ = nanmedian(np.abs(gathered), axis=2)
    return median


def compute_baseline(
    values: FloatArray,
    timestamps: IntArray,
    step: int,
    config: BaselineConfig | None = None,
    resolution: FloatArray | None = None,
) -> Baseline:
    """Baselines and z-scores for (C, T, S) channel values on a regular grid of ``step``.

    ``resolution`` (C, T, S), when given, is each value's quantisation step in channel units
    (a 5-ms latency read as an integer moves by log(6/5) at the least); sigma never drops
    below it.
    """
    config = config or BaselineConfig()
    blocks = Blocks.of(timestamps, step)
    gathered = blocks.gather(values)
    block_values = (
        gathered[:, :, 0] if blocks.per_block == 1 else _center(gathered, config.mode, 2)[0]
    )
    profile = _profiles(blocks, block_values, config)
    width = max(1, config.level_window // blocks.size)
    level, slope = _level(block_values - profile, _mixed(profile, width), width, config)
    # Ticks sit (width + 1) / 2 blocks after the window's centre, plus their place in the block.
    ahead = (width + 1) / 2 + (blocks.tick_pos + 0.5) / blocks.per_block - 0.5
    tb = blocks.tick_block
    daily = profile[:, tb]
    mu = daily + level[:, tb] + slope[:, tb] * ahead[None, :, None]
    residual = values - mu
    deviation = _block_deviation(blocks, residual, config.mode)
    sigma = _spread(blocks, deviation, width, config)[:, tb]
    if resolution is not None:
        sigma = np.fmax(sigma, resolution)
    return Baseline(values, mu, sigma, residual / sigma, daily)

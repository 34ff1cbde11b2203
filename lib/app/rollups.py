"""Hourly rollups of metric rows (the seeds' ``server_metrics_history``), and days of hours.

An hour's rollup holds, per metric, the min, mean, max and 95th percentile of the hour's
samples (the percentile interpolated linearly between the two nearest ranks, numpy's
default), the number of samples, and the worst status. A day rolls up its hours: min of the
mins, max of the maxes, the mean weighted by samples, and as p95 the largest hourly p95 (an
upper bound of the day's p95, which the hours alone cannot give exactly).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from lib.core import DAY, ROLLUP_METRICS, STATUSES, MetricRow, Rollup, worst_status

__all__ = ["HOUR", "daily_rollups", "hourly_rollups"]

HOUR = 3600


def hourly_rollups(rows: Iterable[MetricRow]) -> list[Rollup]:
    """One rollup per (server, UTC hour) of ``rows``, ordered by server id then hour.

    Vectorised over all rows at once: a fleet-day at the 30-s step is 57,600 rows.
    """
    rows = list(rows)
    if not rows:
        return []
    ids = sorted({r.server_id for r in rows})
    position = {server_id: i for i, server_id in enumerate(ids)}
    server = np.fromiter((position[r.server_id] for r in rows), np.int64, len(rows))
    hour = np.fromiter((r.timestamp - r.timestamp % HOUR for r in rows), np.int64, len(rows))
    keys, group = np.unique(server * (1 << 40) + hour, return_inverse=True)
    group = group.ravel()
    samples = np.bincount(group, minlength=len(keys))
    stats = [_stats(np.array([np.nan if getattr(r, m) is None else getattr(r, m) for r in rows],
                             dtype=np.float64), group, len(keys)) for m in ROLLUP_METRICS]
    worst = np.zeros(len(keys), dtype=np.int64)
    np.maximum.at(worst, group, np.fromiter((STATUSES.index(r.status) for r in rows), np.int64,
                                            len(rows)))
    return [Rollup(ids[int(k >> 40)], int(k & ((1 << 40) - 1)), int(samples[g]),
                   tuple(v for block in stats for v in block[g]), STATUSES[int(worst[g])])
            for g, k in enumerate(keys)]


def _stats(values: npt.NDArray[np.float64], group: npt.NDArray[np.int64], groups: int
           ) -> list[tuple[float | None, ...]]:
    """(min, mean, max, p95) of ``values`` per group; a missing value (NaN) is no sample."""
    valid = ~np.isnan(values)
    count = np.bincount(group[valid], minlength=groups)
    total = np.bincount(group[valid], weights=values[valid], minlength=groups)
    low = np.full(groups, np.inf)
    high = np.full(groups, -np.inf)
    np.minimum.at(low, group[valid], values[valid])
    np.maximum.at(high, group[valid], values[valid])
    # p95: each group's valid values sorted, then linear interpolation between ranks
    order = np.lexsort((values[valid], group[valid]))
    ranked = values[valid][order]
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    rank = 0.95 * np.maximum(count - 1, 0)
    below = np.floor(rank).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(count - 1, 0))
    has = count > 0
    last = max(len(ranked) - 1, 0)
    padded = ranked if len(ranked) else np.zeros(1)
    at_below = np.where(has, padded[np.minimum(first + below, last)], np.nan)
    at_above = np.where(has, padded[np.minimum(first + above, last)], np.nan)
    fraction = rank - below
    # numpy's own linear interpolation, from the nearer end, so the results match it exactly
    p95 = np.where(fraction >= 0.5, at_above - (at_above - at_below) * (1 - fraction),
                   at_below + (at_above - at_below) * fraction)
    mean = np.divide(total, count, out=np.zeros(groups), where=has)
    return [(_r(low[g]), _r(mean[g]), _r(high[g]), _r(p95[g])) if has[g] else (None,) * 4
            for g in range(groups)]


def _r(value: float) -> float:
    return round(float(value), 2)


def daily_rollups(hours: Iterable[Rollup]) -> list[Rollup]:
    """One rollup per (server, UTC day) of hourly ``hours``, ordered by server id then day."""
    groups: dict[tuple[str, int], list[Rollup]] = defaultdict(list)
    for hour in hours:
        groups[(hour.server_id, hour.start - hour.start % DAY)].append(hour)
    return [_day(server_id, day, groups[(server_id, day)]) for server_id, day in sorted(groups)]


def _day(server_id: str, day: int, hours: Sequence[Rollup]) -> Rollup:
    values: list[float | None] = []
    for m in range(len(ROLLUP_METRICS)):
        present = [(h.samples, h.values[4 * m: 4 * m + 4]) for h in hours
                   if h.values[4 * m] is not None]
        if not present:
            values.extend([None] * 4)
            continue
        weight = sum(n for n, _ in present)
        mean = sum(n * float(stats[1] or 0) for n, stats in present) / weight
        values.extend([min(float(s[0] or 0) for _, s in present), round(mean, 2),
                       max(float(s[2] or 0) for _, s in present),
                       max(float(s[3] or 0) for _, s in present)])
    return Rollup(server_id, day, sum(h.samples for h in hours), tuple(values),
                  worst_status(h.status for h in hours))

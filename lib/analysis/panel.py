"""Metric rows to a regular (ticks × servers) grid, and the detection channels derived from it.

The analysis never looks at rows one by one: ``Panel`` places every row on the grid of its
step (inferred from the timestamps), with NaN where a server sent nothing — an offline server
is missing data, not an anomaly. ``channels`` turns the raw metrics into the quantities the
detector watches, each oriented so that "up" means "worse".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import gcd

import numpy as np
import numpy.typing as npt

from lib.core import MetricRow

__all__ = [
    "CHANNELS",
    "METRICS",
    "FloatArray",
    "IntArray",
    "Panel",
    "channels",
    "resolution",
    "infer_step",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METRICS = ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx", "connections")

# What the detector watches, each oriented so that a rise is bad:
#   cpu, memory, disk  percent as they are
#   latency            log response time (multiplicative effects become shifts)
#   conn               log connections per KB/s received: sessions piling up faster than
#                      traffic (stuck requests, lock waits) while both follow the same load
#   net                minus log KB/s received: throughput collapsing under a failure
CHANNELS = ("cpu", "memory", "disk", "latency", "conn", "net")


@dataclass(frozen=True)
class Panel:
    """Metrics on a regular grid: ``values[metric]`` is (ticks × servers), NaN where missing."""

    timestamps: IntArray
    server_ids: tuple[str, ...]
    step: int
    values: dict[str, FloatArray]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.timestamps), len(self.server_ids)

    @classmethod
    def from_rows(cls, rows: Iterable[MetricRow], step: int | None = None) -> Panel:
        """Place rows on the grid of ``step`` (inferred from the timestamps when None)."""
        data = list(rows)
        if not data:
            return cls.empty(step or 600)
        cols = list(zip(*data, strict=True))
        ts = np.asarray(cols[0], dtype=np.int64)
        ids, col = np.unique(np.asarray(cols[1], dtype=object), return_inverse=True)
        numeric = {
            name: np.asarray([np.nan if v is None else v for v in cols[2 + k]], dtype=np.float64)
            for k, name in enumerate(METRICS[:3])
        }
        numeric["response_time"] = np.asarray(
            [np.nan if v is None else v for v in cols[5]], dtype=np.float64
        )
        for k, name in enumerate(("network_rx", "network_tx", "connections")):
            numeric[name] = np.asarray(
                [np.nan if v is None else v for v in cols[6 + k]], dtype=np.float64
            )
        return cls._place(ts, tuple(str(i) for i in ids), col, numeric, step)

    @classmethod
    def from_columns(
        cls,
        timestamps: Sequence[int] | IntArray,
        server_ids: Sequence[str],
        values: Mapping[str, FloatArray | npt.NDArray[np.int64]],
        step: int | None = None,
    ) -> Panel:
        """A panel from (ticks × servers) arrays, e.g. a generator frame or a query result."""
        ts = np.asarray(timestamps, dtype=np.int64)
        order = np.argsort(np.asarray(server_ids, dtype=object), kind="stable")
        ids = tuple(str(server_ids[i]) for i in order)
        grid_step = step or infer_step(ts)
        arrays = {m: np.asarray(values[m], dtype=np.float64)[:, order] for m in METRICS}
        if len(ts) and np.all(np.diff(ts) == grid_step):
            return cls(ts.copy(), ids, grid_step, arrays)
        flat_ts = np.repeat(ts, len(ids))
        flat_col = np.tile(np.arange(len(ids)), len(ts))
        flat = {m: a.reshape(-1) for m, a in arrays.items()}
        return cls._place(flat_ts, ids, flat_col, flat, grid_step)

    @classmethod
    def empty(cls, step: int) -> Panel:
        return cls(np.zeros(0, np.int64), (), step, {m: np.zeros((0, 0)) for m in METRICS})

    @classmethod
    def _place(
        cls,
        ts: IntArray,
        ids: tuple[str, ...],
        col: npt.NDArray[np.intp],
        numeric: dict[str, FloatArray],
        step: int | None,
    ) -> Panel:
        grid_step = step or infer_step(ts)
        first = int(ts.min())
        first -= first % grid_step
        row = (ts - first + grid_step // 2) // grid_step
        ticks = first + grid_step * np.arange(int(row.max()) + 1, dtype=np.int64)
        values = {}
        for name in METRICS:
            grid = np.full((len(ticks), len(ids)), np.nan)
            grid[row, col] = numeric[name]
            values[name] = grid
        return cls(ticks, ids, grid_step, values)

    def window(self, start: int, end: int) -> Panel:
        """The ticks in [start, end)."""
        lo, hi = np.searchsorted(self.timestamps, [start, end])
        return Panel(
            self.timestamps[lo:hi], self.server_ids, self.step,
            {m: v[lo:hi] for m, v in self.values.items()},
        )


def infer_step(timestamps: IntArray) -> int:
    """The grid step of a set of timestamps: the gcd of the gaps between distinct ticks."""
    unique = np.unique(timestamps)
    if len(unique) < 2:
        return 600
    gaps = np.unique(np.diff(unique))
    step = 0
    for gap in gaps[:64].tolist():
        step = gcd(step, int(gap))
    return max(step, 1)


def channels(panel: Panel) -> FloatArray:
    """The detector's channels as one (channels × ticks × servers) array (see CHANNELS)."""
    v = panel.values
    out = np.empty((len(CHANNELS), *panel.shape))
    out[0], out[1], out[2] = v["cpu"], v["memory"], v["disk"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[3] = np.log(np.maximum(v["response_time"], 1.0))
        rx = np.log1p(np.maximum(v["network_rx"], 0.0))
        out[4] = np.log1p(np.maximum(v["connections"], 0.0)) - rx
        out[5] = -rx
    return out


def resolution(panel: Panel) -> FloatArray:
    """Each channel value's quantisation step (C × T × S): integers read in log units.

    Response times and connection counts are integers, so a 5-ms cache moves by log(6/5) when
    it moves at all; NaN where the channel has no such floor.
    """
    v = panel.values
    out = np.full((len(CHANNELS), *panel.shape), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[3] = np.log1p(1.0 / np.maximum(v["response_time"], 1.0))
        out[4] = np.log1p(1.0 / (np.maximum(v["connections"], 0.0) + 1.0))
    return out

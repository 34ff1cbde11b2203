"""The deterministic fleet generator: metrics as a pure function of (seed, fleet, server, tick).

Arrays are laid out (ticks × servers). Nothing here keeps state between calls, so
[a, c) equals [a, b) + [b, c) bitwise, one server equals its column of the whole
fleet, and every process computes the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from lib.core import DAY, DEFAULT_STEP, MIN_STEP, Incident, MetricRow, check_window, pick_servers

from .fleet import Fleet
from .hashing import fold, quad, stable_key, uniform
from .scenarios import Impact, apply_incident, incidents_between
from .status import RESPONSE_THRESHOLDS, classify, status_name

__all__ = [
    "DEFAULT_STEP",
    "MIN_STEP",
    "MetricFrame",
    "ROLE_PROFILES",
    "RoleProfile",
    "Simulator",
    "tick_grid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]



@dataclass(frozen=True, slots=True)
class RoleProfile:
    """A role's normal behaviour. Percentages are points; ``load`` is 0 at night, 1 at peak."""

    cpu_base: float          # idle CPU %
    cpu_load: float          # extra CPU % at full business-hour load
    memory_base: float
    memory_creep: float      # % gained between restarts (accelerating: creep × uptime³)
    restart_hours: float     # mean interval between service restarts
    disk_base: float
    disk_creep: float        # % gained between weekly cleanups
    response_ms: float
    response_load: float     # relative latency increase at full load
    rx_kbps: float
    tx_ratio: float
    connections: float
    spike_rate: float        # share of 10-minute slots with a short CPU burst
    spike_cpu: float
    surge_rate: float        # share of 10-minute slots with a traffic surge (latency burst)
    surge_factor: float      # latency multiplier at the strongest surge


ROLE_PROFILES: dict[str, RoleProfile] = {
    "web": RoleProfile(20, 42, 46, 30, 72, 30, 8, 130, 1.0, 2_400, 3.0, 320, 0.01, 25, 0.05, 6.5),
    "api": RoleProfile(28, 40, 55, 50, 26, 34, 8, 170, 0.8, 1_600, 1.6, 180, 0.07, 42, 0.01, 3.0),
    "db": RoleProfile(24, 26, 60, 22, 336, 48, 10, 30, 1.2, 3_200, 1.1, 90, 0.01, 20, 0.0, 1.0),
    "cache": RoleProfile(12, 10, 62, 20, 168, 22, 6, 4, 0.8, 5_000, 1.0, 400, 0.005, 15, 0.01, 4.0),
    "worker": RoleProfile(30, 12, 50, 30, 24, 40, 10, 600, 0.5, 600, 0.6, 20, 0.02, 30, 0.0, 1.0),
}

# Nightly windows (local hours) and their extra CPU: worker batch jobs, db maintenance
# (vacuum and backups, which also slow queries down).
_BATCH_START_H, _BATCH_END_H, _BATCH_CPU = 0.5, 5.0, 60.0
_MAINT_START_H, _MAINT_END_H, _MAINT_CPU, _MAINT_SLOWDOWN = 2.0, 3.5, 42.0, 2.5
_KNOT = 1_200  # seconds between smooth-noise knots
_SLOT = 600    # spike slots are fixed 10-minute slots, whatever the step
_CHUNK_CELLS = 300_000  # (ticks × servers) per chunk of Simulator.frames

# Stream ids for the per-server hash keys.
# (5 and 7 are unused: latency and connections share the traffic noise.)
_S_STATIC, _S_CPU, _S_MEM, _S_DISK, _S_NET, _S_SPIKE = 1, 2, 3, 4, 6, 8


def tick_grid(start: int, end: int, step: int) -> IntArray:
    """Ticks in [start, end) on the global grid of multiples of ``step``."""
    return np.arange(check_window(start, end, step), end, step, dtype=np.int64)


@dataclass(frozen=True)
class MetricFrame:
    """Metrics for ``server_ids`` at ``timestamps``; every metric array is (ticks × servers)."""

    timestamps: IntArray
    server_ids: tuple[str, ...]
    cpu: FloatArray
    memory: FloatArray
    disk: FloatArray
    response_time: IntArray
    network_rx: FloatArray
    network_tx: FloatArray
    connections: IntArray
    status: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.cpu.size)

    def rows(self) -> Iterator[MetricRow]:
        """Rows ordered by timestamp then server id."""
        columns = [
            self.cpu.tolist(), self.memory.tolist(), self.disk.tolist(),
            self.response_time.tolist(), self.network_rx.tolist(), self.network_tx.tolist(),
            self.connections.tolist(), self.status.tolist(),
        ]
        for i, ts in enumerate(self.timestamps.tolist()):
            cpu, mem, disk, rt, rx, tx, conn, st = (col[i] for col in columns)
            for j, sid in enumerate(self.server_ids):
                yield MetricRow(
                    ts, sid, cpu[j], mem[j], disk[j], rt[j], rx[j], tx[j], conn[j],
                    status_name(st[j]),
                )


class Simulator:
    """Generates a fleet's metrics and ground truth for a seed and fleet time zone."""

    def __init__(self, seed: int, fleet: Fleet, timezone: str = "Asia/Seoul") -> None:
        self.seed = int(seed)
        self.fleet = fleet
        self.timezone = timezone

    def incidents(self, start: int, end: int) -> list[Incident]:
        """Ground truth of the incidents overlapping [start, end)."""
        return incidents_between(self.seed, self.fleet, start, end)

    def frame(
        self,
        start: int,
        end: int,
        step: int = DEFAULT_STEP,
        server_ids: Sequence[str] | None = None,
        incidents: Sequence[Incident] | None = None,
    ) -> MetricFrame:
        """Metrics of [start, end) at ``step``; ``incidents`` replaces the schedule when given."""
        ticks = tick_grid(start, end, step)
        ids = self._select(server_ids)
        if incidents is None:
            incidents = self.incidents(start, end) if len(ticks) else []
        return self._compute(ticks, ids, incidents)

    def frames(
        self,
        start: int,
        end: int,
        step: int = DEFAULT_STEP,
        server_ids: Sequence[str] | None = None,
        chunk: int | None = None,
    ) -> Iterator[MetricFrame]:
        """``frame`` in chunks of ``chunk`` seconds: long windows in bounded memory.

        By default a chunk holds about _CHUNK_CELLS values per metric (a few MB per array):
        large enough that numpy's per-call overhead vanishes, small enough to bound memory.
        """
        tick_grid(start, end, step)  # validate before yielding anything
        if chunk is None:
            servers = len(server_ids) if server_ids is not None else len(self.fleet)
            chunk = step * max(1, _CHUNK_CELLS // max(1, servers))
        for lo in range(start, end, chunk):
            yield self.frame(lo, min(lo + chunk, end), step, server_ids)

    def uptime(self, server_ids: Sequence[str], at: int) -> list[int]:
        """Seconds since each server's last restart (restarts reset its memory creep)."""
        idx = self._indices(self._select(server_ids))
        period, phase = self._cycle(idx)
        return [int(x) for x in np.mod(at + phase, period)]

    # --- internals ---------------------------------------------------------------------

    def _select(self, server_ids: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(t.id for t in pick_servers(server_ids, self.fleet.by_id))

    def _indices(self, ids: tuple[str, ...]) -> npt.NDArray[np.intp]:
        return np.array([self.fleet.index(s) for s in ids], dtype=np.intp)

    def _cycle(self, idx: npt.NDArray[np.intp]) -> tuple[IntArray, IntArray]:
        """Per-server restart period and phase (seconds)."""
        p = _server_params(self.seed, self.fleet)
        return p.restart_period[idx], p.restart_phase[idx]

    def _compute(
        self, ticks: IntArray, ids: tuple[str, ...], incidents: Sequence[Incident]
    ) -> MetricFrame:
        idx = self._indices(ids)
        p = _server_params(self.seed, self.fleet).take(idx)
        t = ticks[:, None]
        load, local_hour = _load_curve(ticks, self.timezone)
        base = _baseline(p, t, load[:, None], local_hour[:, None])
        impact = Impact.empty(base["cpu"].shape)
        columns = {sid: j for j, sid in enumerate(ids)}
        for incident in incidents:
            apply_incident(incident, ticks, columns, base, impact)
        return _finish(ticks, ids, p, base, impact)


# --- per-server parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    """Per-server constants, one entry per server in fleet order."""

    role: npt.NDArray[np.str_]
    keys: npt.NDArray[np.uint64]     # (streams, servers)
    profile: dict[str, FloatArray]   # role profile fields, personalised
    restart_period: IntArray
    restart_phase: IntArray
    disk_phase: IntArray
    rt_warn: FloatArray
    rt_crit: FloatArray

    def take(self, idx: npt.NDArray[np.intp]) -> _Params:
        return _Params(
            role=self.role[idx],
            keys=self.keys[:, idx],
            profile={k: v[idx] for k, v in self.profile.items()},
            restart_period=self.restart_period[idx],
            restart_phase=self.restart_phase[idx],
            disk_phase=self.disk_phase[idx],
            rt_warn=self.rt_warn[idx],
            rt_crit=self.rt_crit[idx],
        )


@lru_cache(maxsize=64)
def _server_params(seed: int, fleet: Fleet) -> _Params:
    """Keys and personalised profiles; depends only on (seed, fleet, server id) per server."""
    keys = np.array(
        [[fold(seed, fleet.key, stable_key(s.id), stream) for s in fleet.servers]
         for stream in range(_S_SPIKE + 1)],
        dtype=np.uint64,
    )
    u = uniform(keys[_S_STATIC][None, :], np.arange(8)[:, None])  # (8, servers) in [0, 1)
    roles = np.array([s.role for s in fleet.servers])
    fields = RoleProfile.__slots__
    profile = {f: np.array([getattr(ROLE_PROFILES[r], f) for r in roles], dtype=np.float64)
               for f in fields}
    # Personality: no two servers of a role idle at exactly the same level.
    profile["cpu_base"] = profile["cpu_base"] * (0.85 + 0.3 * u[0])
    profile["memory_base"] = profile["memory_base"] + 5.0 * (u[1] - 0.5)
    profile["disk_base"] = profile["disk_base"] + 12.0 * (u[2] - 0.5)
    profile["response_ms"] = profile["response_ms"] * (0.85 + 0.3 * u[3])
    profile["rx_kbps"] = profile["rx_kbps"] * (0.7 + 0.6 * u[4])
    period = (profile["restart_hours"] * 3600 * (0.75 + 0.5 * u[5])).astype(np.int64)
    thresholds = np.array([RESPONSE_THRESHOLDS[r] for r in roles], dtype=np.float64)
    return _Params(
        role=roles,
        keys=keys,
        profile=profile,
        restart_period=period,
        restart_phase=(u[6] * period).astype(np.int64),
        disk_phase=(u[7] * 7 * DAY).astype(np.int64),
        rt_warn=thresholds[:, 0],
        rt_crit=thresholds[:, 1],
    )


# --- the baseline ------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _utc_offset(zone: str, hour: int) -> int:
    """The zone's UTC offset (seconds) during the UTC hour starting at ``hour * 3600``."""
    moment = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(ZoneInfo(zone))
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _load_curve(ticks: IntArray, zone: str) -> tuple[FloatArray, FloatArray]:
    """Business-hour load in [0, 1] and local hour of day for each tick."""
    hours = ticks // 3600
    unique, inverse = np.unique(hours, return_inverse=True)
    offsets = np.array([_utc_offset(zone, int(h)) for h in unique], dtype=np.int64)[inverse]
    local = ticks + offsets
    hour = (local % DAY) / 3600.0
    weekday = ((local // DAY) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    office = 0.5 * (np.tanh((hour - 8.6) / 0.6) - np.tanh((hour - 18.2) / 0.8))
    evening = 0.25 * np.exp(-(((hour - 21.0) / 1.8) ** 2))
    load = 0.08 + 0.92 * np.maximum(office, evening)
    load = np.where(weekday >= 5, 0.85 * load, load)
    return load, hour


def _smooth_noise(key: npt.NDArray[np.uint64], t: IntArray) -> FloatArray:
    """Value noise in [-1, 1] with knots every _KNOT seconds, continuous in time.

    Knot values are hashed once per knot, not per tick: at fine steps most ticks share knots.
    """
    k0 = t // _KNOT
    first = int(k0.min()) if k0.size else 0
    knots = uniform(key, np.arange(first, first + int(np.ptp(k0)) + 2 if k0.size else 1)[:, None])
    row = k0[:, 0] - first
    a, b = knots[row], knots[row + 1]
    w = (t - k0 * _KNOT) / _KNOT
    w = w * w * (3.0 - 2.0 * w)
    return 2.0 * (a + (b - a) * w) - 1.0


def _baseline(p: _Params, t: IntArray, load: FloatArray, hour: FloatArray) -> dict[str, FloatArray]:
    """Normal-operation metrics (no incidents), each (ticks × servers)."""
    f = p.profile
    k = p.keys  # (streams, servers): k[stream] broadcasts against t (ticks × 1)
    role = p.role[None, :]

    # Nightly windows as (ticks × 1) × (1 × servers) products: one pass instead of three.
    batch = ((hour >= _BATCH_START_H) & (hour < _BATCH_END_H)) * (role == "worker")
    maint = ((hour >= _MAINT_START_H) & (hour < _MAINT_END_H)) * (role == "db")
    # Per 10-minute slot: whether a CPU burst / traffic surge happens, and how big it is.
    spike_draw, spike_size, surge_draw, surge_size = quad(k[_S_SPIKE], t // _SLOT)
    # Per tick: small white noise, unit variance (uniform), one lane per metric.
    w_cpu, w_rt, w_mem, w_net = (np.sqrt(12.0) * (u - 0.5) for u in quad(k[_S_CPU], t))
    # Traffic drives CPU, latency and network together; memory and disk drift on their own.
    n_traffic = _smooth_noise(k[_S_NET], t)

    cpu_level = f["cpu_base"] + f["cpu_load"] * load + _BATCH_CPU * batch + _MAINT_CPU * maint
    cpu = cpu_level * (1.0 + 0.10 * n_traffic + 0.017 * w_cpu)
    cpu = cpu + np.where(spike_draw < f["spike_rate"],
                         f["spike_cpu"] * (0.6 + 0.4 * spike_size), 0.0)

    uptime = np.mod(t + p.restart_phase, p.restart_period) / p.restart_period
    memory = (f["memory_base"] + f["memory_creep"] * (uptime * uptime * uptime) + 6.0 * load) * (
        1.0 + 0.02 * _smooth_noise(k[_S_MEM], t) + 0.0033 * w_mem
    )
    week = np.mod(t + p.disk_phase, 7 * DAY) / (7 * DAY)
    disk = f["disk_base"] + f["disk_creep"] * week + 0.15 * _smooth_noise(k[_S_DISK], t)

    congestion = 1.0 + 2.0 * np.clip((cpu - 65.0) / 35.0, 0.0, 1.0) ** 2
    congestion = congestion * np.where(
        surge_draw < f["surge_rate"], 1.0 + (f["surge_factor"] - 1.0) * (0.5 + 0.5 * surge_size),
        1.0,
    ) * (1.0 + (_MAINT_SLOWDOWN - 1.0) * maint)
    response = f["response_ms"] * (1.0 + f["response_load"] * load) * congestion * (
        1.0 + 0.08 * n_traffic + 0.017 * w_rt
    )
    traffic = (0.15 + 0.85 * load) * (1.0 + 0.15 * n_traffic)
    network_rx = f["rx_kbps"] * traffic * (1.0 + 0.017 * w_net)
    connections = f["connections"] * traffic * (1.0 + 0.017 * w_net)
    return {
        "cpu": cpu,
        "memory": memory,
        "disk": disk,
        "response": response,
        "network_rx": network_rx,
        "network_tx": network_rx * f["tx_ratio"],
        "connections": connections,
    }


def _saturate(x: FloatArray, knee: float = 90.0, ceiling: float = 99.5) -> FloatArray:
    """Bend values above ``knee`` smoothly towards ``ceiling``: memory never reads a flat 100 %."""
    room = ceiling - knee
    out = x.copy()
    high = x > knee
    out[high] = knee + room * (1.0 - np.exp(-(x[high] - knee) / room))
    return out


def _pct(x: FloatArray) -> FloatArray:
    return np.round(np.clip(x, 0.0, 100.0), 2).astype(np.float64)


def _finish(
    ticks: IntArray, ids: tuple[str, ...], p: _Params, base: dict[str, FloatArray], impact: Impact
) -> MetricFrame:
    cpu = _pct(np.maximum(base["cpu"] + impact.cpu, impact.cpu_floor))
    memory = _pct(_saturate(base["memory"] + impact.memory))
    disk = _pct(base["disk"] + impact.disk)
    response = np.maximum(np.rint(base["response"] * impact.response), 1.0).astype(np.int64)
    rx = np.round(base["network_rx"] * impact.network, 2)
    tx = np.round(base["network_tx"] * impact.network, 2)
    connections = np.rint(base["connections"] * impact.connections).astype(np.int64)
    status = classify(cpu, memory, disk, response, p.rt_warn[None, :], p.rt_crit[None, :])
    return MetricFrame(ticks, ids, cpu, memory, disk, response, rx, tx, connections, status)

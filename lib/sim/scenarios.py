"""The seven failure patterns: when they happen (schedules) and what they do (effects).

A UTC day's incidents are a pure function of (seed, fleet, day). Effects are pure
functions of an incident and the server's baseline at a tick, so any tick of any
window can be computed without state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from lib.core import DAY, AffectedServer, Incident, to_datetime

from .fleet import Fleet
from .hashing import Stream

__all__ = [
    "CASCADE_DB_TO_FRONT_P",
    "CASCADE_SAME_ROLE_P",
    "MAX_INCIDENTS_PER_DAY",
    "MIN_INCIDENTS_PER_DAY",
    "PATTERNS",
    "PatternSpec",
    "Impact",
    "apply_incident",
    "day_schedule",
    "incidents_between",
    "make_incident",
]

FloatArray = npt.NDArray[np.float64]

MIN_INCIDENTS_PER_DAY: Final = 2
MAX_INCIDENTS_PER_DAY: Final = 10
CASCADE_SAME_ROLE_P: Final = 0.6
CASCADE_DB_TO_FRONT_P: Final = 0.8
_STREAM_SCHEDULE: Final = 0x5C4ED
_DAY_OFFSET: Final = 1 << 32  # keeps day keys non-negative before 1970


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """Where a pattern can start and how long it lasts (seconds, inclusive)."""

    name: str
    origins: tuple[str, ...]
    min_duration: int
    max_duration: int


_ALL = ("web", "api", "db", "cache", "worker")
PATTERNS: Final[dict[str, PatternSpec]] = {
    spec.name: spec
    for spec in (
        PatternSpec("memory_leak", ("web", "api", "worker"), 2 * 3600, 6 * 3600),
        PatternSpec("cpu_spike", _ALL, 10 * 60, 60 * 60),
        PatternSpec("disk_full", ("db", "cache"), 1 * 3600, 7 * 3600),
        PatternSpec("cascade_failure", _ALL, 1 * 3600, 4 * 3600),
        PatternSpec("network_latency", _ALL, 30 * 60, 150 * 60),
        PatternSpec("db_lock", ("db",), 20 * 60, 100 * 60),
        PatternSpec("gradual_degradation", _ALL, 4 * 3600, 12 * 3600),
    )
}
# Longest any incident can reach past its start (duration; lags are shorter).
MAX_SPAN: Final = max(spec.max_duration for spec in PATTERNS.values())


# --- schedules -------------------------------------------------------------------------


def _lag(rng: Stream, low_min: int, high_min: int, duration: int) -> int:
    """A follower's delay in whole minutes, always at least one and under half the incident."""
    cap = max(1, duration // 120)
    return 60 * min(rng.randint(low_min, high_min), cap)


def _spread(
    rng: Stream, fleet: Fleet, pattern: str, origin: str, start: int, duration: int
) -> list[AffectedServer]:
    """Followers of an incident, each with its onset; the origin comes first."""
    role = fleet.get(origin).role
    affected = [AffectedServer(origin, start)]
    if pattern == "cascade_failure":
        for server in fleet.servers:
            if server.id != origin and server.role == role and rng.bernoulli(CASCADE_SAME_ROLE_P):
                affected.append(AffectedServer(server.id, start + _lag(rng, 5, 20, duration)))
        if role == "db":
            # db -> api waits -> web timeouts: web lags further behind than api.
            lags = {"api": (3, 15), "web": (12, 30)}
            for server in fleet.servers:
                if server.role in lags and rng.bernoulli(CASCADE_DB_TO_FRONT_P):
                    low, high = lags[server.role]
                    onset = start + _lag(rng, low, high, duration)
                    affected.append(AffectedServer(server.id, onset))
    elif pattern == "db_lock":
        lags = {"api": (1, 5), "web": (4, 12)}
        for server in fleet.servers:
            if server.role in lags:
                low, high = lags[server.role]
                affected.append(AffectedServer(server.id, start + _lag(rng, low, high, duration)))
    return affected


def make_incident(
    fleet: Fleet,
    pattern: str,
    origin: str,
    start: int,
    duration: int,
    intensity: float,
    *,
    incident_id: str | None = None,
    spread_key: int = 0,
) -> Incident:
    """One incident with its spread drawn from ``spread_key`` (schedules and tests use it)."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    fleet.index(origin)
    rng = Stream(spread_key, start, fleet.key)
    affected = _spread(rng, fleet, pattern, origin, start, duration)
    return Incident(
        id=incident_id or f"{pattern}-{origin}-{start}",
        pattern=pattern,
        origin=origin,
        start=start,
        end=start + duration,
        intensity=intensity,
        affected=tuple(affected),
    )


@lru_cache(maxsize=4096)
def day_schedule(seed: int, fleet: Fleet, day: int) -> tuple[Incident, ...]:
    """Incidents starting on UTC day number ``day`` (epoch days), ordered by start then id."""
    rng = Stream(seed, fleet.key, day + _DAY_OFFSET, _STREAM_SCHEDULE)
    roles = {s.role for s in fleet.servers}
    patterns = [p for p in PATTERNS.values() if roles.intersection(p.origins)]
    stamp = to_datetime(day * DAY).strftime("%Y%m%d")
    incidents = []
    # 2 + Binomial(8, 1/2): always 2–10 incidents, most days near six.
    extra = MAX_INCIDENTS_PER_DAY - MIN_INCIDENTS_PER_DAY
    count = MIN_INCIDENTS_PER_DAY + sum(rng.bernoulli(0.5) for _ in range(extra))
    for k in range(count):
        spec = patterns[rng.randint(0, len(patterns) - 1)]
        candidates = tuple(s.id for s in fleet.servers if s.role in spec.origins)
        origin = rng.choice(candidates)
        duration = 60 * rng.randint(spec.min_duration // 60, spec.max_duration // 60)
        start = day * DAY + 60 * rng.randint(0, 24 * 60 - 1)
        intensity = round(rng.uniform(0.6, 1.0), 2)
        incidents.append(
            make_incident(
                fleet, spec.name, origin, start, duration, intensity,
                incident_id=f"inc-{stamp}-{k + 1:02d}", spread_key=rng.randint(0, 2**62),
            )
        )
    return tuple(sorted(incidents, key=lambda i: (i.start, i.id)))


def incidents_between(seed: int, fleet: Fleet, start: int, end: int) -> list[Incident]:
    """Every scheduled incident overlapping [start, end), including ones begun days before."""
    first_day = (start - MAX_SPAN) // DAY
    last_day = (end - 1) // DAY
    found = [
        incident
        for day in range(first_day, last_day + 1)
        for incident in day_schedule(seed, fleet, day)
        if incident.start < end and incident.end > start
    ]
    return sorted(found, key=lambda i: (i.start, i.id))


# --- effects ---------------------------------------------------------------------------


@dataclass
class Impact:
    """Accumulated incident effects over a (ticks × servers) block.

    Resource effects add percentage points; response time, connections and network
    multiply. ``cpu_floor`` lifts CPU to at least a level (db lock holds CPU near 80 %).
    """

    cpu: FloatArray
    memory: FloatArray
    disk: FloatArray
    cpu_floor: FloatArray
    response: FloatArray
    connections: FloatArray
    network: FloatArray

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Impact:
        zeros, ones = np.zeros(shape), np.ones(shape)
        return cls(zeros, zeros.copy(), zeros.copy(), zeros.copy(), ones, ones.copy(), ones.copy())


@dataclass(frozen=True)
class Block:
    """One incident's view of the window: its tick rows, affected columns and progress."""

    rows: slice
    cols: npt.NDArray[np.intp]
    progress: FloatArray  # 0 at the server's onset, 1 at the incident's end
    active: npt.NDArray[np.bool_]
    is_origin: npt.NDArray[np.bool_]
    intensity: float


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _plateau(p: FloatArray, rise: float, fall: float) -> FloatArray:
    """0 → 1 over the first ``rise`` of the span, 1, then 1 → 0 over the last ``fall``."""
    return _smoothstep(p / rise) * (1.0 - _smoothstep((p - (1.0 - fall)) / fall))


def _memory_leak(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    # Memory climbs first; CPU follows once GC pressure builds; latency degrades last.
    p, i = b.progress, b.intensity
    _add(acc.memory, b, i * 48.0 * p)
    _add(acc.cpu, b, i * 26.0 * np.clip((p - 0.25) / 0.75, 0, 1))
    _mul(acc.response, b, 1.0 + i * 3.0 * np.clip((p - 0.5) / 0.5, 0, 1) ** 2)


def _cpu_spike(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    bell = np.exp(-(((b.progress - 0.5) / 0.25) ** 2))
    peak = 84.0 + 14.0 * b.intensity
    _add(acc.cpu, b, np.maximum(peak - base["cpu"], 0.0) * bell)
    _mul(acc.response, b, 1.0 + 2.0 * bell)
    _mul(acc.connections, b, 1.0 + 0.5 * bell)


def _disk_full(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    # Disk fills towards a target; once it passes 70 % I/O stalls: CPU spikes, latency ×4.
    target = 80.0 + 18.0 * b.intensity
    disk = base["disk"] + np.maximum(target - base["disk"], 0.0) * np.sqrt(b.progress)
    _add(acc.disk, b, disk - base["disk"])
    over = _smoothstep((disk - 70.0) / 3.0)
    _add(acc.cpu, b, over * 34.0 * b.intensity)
    _mul(acc.response, b, 1.0 + 3.0 * over)


def _cascade_failure(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    severity = (0.75 + 0.25 * b.intensity) * np.where(b.is_origin, 1.0, 0.9)
    level = _plateau(b.progress, 0.12, 0.1) * severity
    _add(acc.cpu, b, np.maximum(96.0 - base["cpu"], 0.0) * level)
    _add(acc.memory, b, 14.0 * level)
    _mul(acc.response, b, 1.0 + 5.0 * level)
    _mul(acc.connections, b, 1.0 + 1.2 * level)
    _mul(acc.network, b, 1.0 - 0.4 * level)


def _network_latency(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    # Only latency moves: ×2 at intensity 0.6 up to ×10 at 1.0, a half sine over the span.
    factor = 2.0 + 8.0 * (b.intensity - 0.6) / 0.4
    _mul(acc.response, b, 1.0 + (factor - 1.0) * np.sin(np.pi * b.progress))


def _db_lock(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    hold = _plateau(b.progress, 0.05, 0.05)
    origin = b.is_origin
    _max(acc.cpu_floor, b, np.where(origin, (76.0 + 8.0 * b.intensity) * hold, 0.0))
    _mul(acc.response, b, 1.0 + np.where(origin, 9.0, 2.0) * hold)
    _mul(acc.connections, b, 1.0 + np.where(origin, 2.0, 0.6) * hold)


def _gradual_degradation(b: Block, base: dict[str, FloatArray], acc: Impact) -> None:
    p, i = b.progress, b.intensity
    _add(acc.cpu, b, 55.0 * i * p)
    _add(acc.memory, b, 32.0 * i * p)
    _add(acc.disk, b, 10.0 * i * p)
    _mul(acc.response, b, 1.0 + 4.0 * i * p)
    _mul(acc.connections, b, 1.0 + 0.6 * i * p)


def _add(target: FloatArray, b: Block, delta: FloatArray) -> None:
    target[b.rows, b.cols] += np.where(b.active, delta, 0.0)


def _mul(target: FloatArray, b: Block, factor: FloatArray) -> None:
    target[b.rows, b.cols] *= np.where(b.active, factor, 1.0)


def _max(target: FloatArray, b: Block, floor: FloatArray) -> None:
    block = target[b.rows, b.cols]
    target[b.rows, b.cols] = np.maximum(block, np.where(b.active, floor, 0.0))


_EFFECTS = {
    "memory_leak": _memory_leak,
    "cpu_spike": _cpu_spike,
    "disk_full": _disk_full,
    "cascade_failure": _cascade_failure,
    "network_latency": _network_latency,
    "db_lock": _db_lock,
    "gradual_degradation": _gradual_degradation,
}


def apply_incident(
    incident: Incident,
    ticks: npt.NDArray[np.int64],
    columns: dict[str, int],
    base: dict[str, FloatArray],
    acc: Impact,
) -> None:
    """Add one incident's effect on the selected servers (``columns``: id → column) to ``acc``."""
    hits = [(columns[a.server_id], a.onset) for a in incident.affected if a.server_id in columns]
    if not hits:
        return
    first = min(onset for _, onset in hits)
    lo, hi = np.searchsorted(ticks, [first, incident.end], side="left")
    if lo >= hi:
        return
    cols = np.array([c for c, _ in hits], dtype=np.intp)
    onsets = np.array([o for _, o in hits], dtype=np.float64)
    span = incident.end - onsets
    t = ticks[lo:hi, None].astype(np.float64)
    block = Block(
        rows=slice(int(lo), int(hi)),
        cols=cols,
        progress=np.clip((t - onsets) / span, 0.0, 1.0),
        active=t >= onsets,
        is_origin=np.array([c == columns.get(incident.origin, -1) for c in cols]),
        intensity=incident.intensity,
    )
    sliced = {name: values[lo:hi][:, cols] for name, values in base.items()}
    _EFFECTS[incident.pattern](block, sliced, acc)

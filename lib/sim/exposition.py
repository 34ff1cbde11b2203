"""The simulated fleet in Prometheus text format, with node_exporter's metric names.

``render_exposition(simulator, at)`` is what ``GET /api/prometheus`` serves: every server at
instant ``at`` (one label set per server, ``instance`` = server id). Gauges are the
generator's values for the 30-second tick containing ``at``; counters are closed-form running
totals, identical in every process. The families, labels and the counters' construction are
in docs/prometheus.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from lib.core import DAY, ServerTemplate
from lib.core import promnames as names

from .fleet import Fleet
from .generator import MIN_STEP, MetricFrame, Simulator

__all__ = [
    "CONTENT_TYPE",
    "FleetSample",
    "counter_epoch",
    "fleet_sample",
    "render_exposition",
]

CONTENT_TYPE = names.CONTENT_TYPE


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_TICKS_PER_DAY = DAY // MIN_STEP
_WEEK = 7 * DAY
_MIB = 1 << 20

# Integer units per counter unit: CPU values have two decimals of a percent, so per core a
# second of user time is 4 × centi-percent / 50,000 s; KB/s × 1024 with two decimals is
# centi-KB/s × 256 / 25 bytes.
_CPU_UNITS = 50_000
_NET_UNITS = 25
_COUNTERS = ("cpu_idle", "cpu_user", "cpu_system", "eth0_rx", "eth0_tx", "lo")
_UNITS = np.array([_CPU_UNITS] * 3 + [_NET_UNITS] * 3, dtype=np.float64)

_FILESYSTEM = ("/dev/vda1", "ext4", names.ROOT_MOUNTPOINT)


def counter_epoch(at: float) -> int:
    """00:00 UTC of the day containing ``at``: where every counter restarts from 0.

    A daily restart (a nightly reboot, ``node_boot_time_seconds``) bounds what a cold scrape
    computes to one day of 30-s ticks; ``rate()`` and ``irate()`` handle the reset.
    """
    return int(at // DAY) * DAY


@dataclass(frozen=True)
class FleetSample:
    """Everything one scrape exposes, as arrays over ``servers`` (fleet order).

    ``counters`` maps each of ``cpu_idle``, ``cpu_user``, ``cpu_system`` (seconds per core),
    ``eth0_rx``, ``eth0_tx`` and ``lo`` (bytes) to its running total at ``at``.
    """

    at: float
    tick: int
    boot: int
    servers: tuple[ServerTemplate, ...]
    frame: MetricFrame            # the generator's tick, one row
    started: IntArray             # app start time (epoch seconds)
    counters: dict[str, FloatArray]


def fleet_sample(simulator: Simulator, at: float) -> FleetSample:
    """The fleet at instant ``at`` (epoch seconds, fractions allowed for counters)."""
    tick = int(at // MIN_STEP) * MIN_STEP
    frame = simulator.frame(tick, tick + MIN_STEP, MIN_STEP)
    ids = frame.server_ids
    uptime = np.array(simulator.uptime(ids, tick), dtype=np.int64)
    totals = _running_totals(simulator, at, tick)
    return FleetSample(
        at=at,
        tick=tick,
        boot=counter_epoch(at),
        servers=tuple(simulator.fleet.get(s) for s in ids),
        frame=frame,
        started=tick - uptime,
        counters={name: totals[i] for i, name in enumerate(_COUNTERS)},
    )


def render_exposition(simulator: Simulator, at: float) -> bytes:
    """Prometheus text format (``CONTENT_TYPE``) for the whole fleet at instant ``at``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FleetCollector(fleet_sample(simulator, at)))
    return generate_latest(registry)


# --- running totals ----------------------------------------------------------------------


def _running_totals(simulator: Simulator, at: float, tick: int) -> FloatArray:
    """(counters × servers) totals at ``at``; exact integer prefix plus the current tick's part."""
    key = (simulator.seed, simulator.fleet, simulator.timezone)
    day = tick - tick % DAY
    k = (tick - day) // MIN_STEP
    prefix = _day_prefix(*key, day)
    whole = prefix[k].copy()
    for d in range(counter_epoch(at), day, DAY):
        whole += _day_total(*key, d)
    per_second = (prefix[k + 1] - prefix[k]) // MIN_STEP
    elapsed = at - tick
    totals: FloatArray = (
        whole.astype(np.float64) + per_second.astype(np.float64) * elapsed
    ) / _UNITS[:, None]
    return totals


def _rates(frame: MetricFrame) -> IntArray:
    """Integer units per second, (ticks × counters × servers)."""
    cpu = np.rint(frame.cpu * 100).astype(np.int64)  # centi-percent
    rx = np.rint(frame.network_rx * 100).astype(np.int64)  # centi-KB/s
    tx = np.rint(frame.network_tx * 100).astype(np.int64)
    return np.stack([5 * (10_000 - cpu), 4 * cpu, cpu, 256 * rx, 256 * tx, 256 * (rx // 10)],
                    axis=1)


def _day_rates(seed: int, fleet: Fleet, timezone: str, day: int) -> IntArray:
    return _rates(Simulator(seed, fleet, timezone).frame(day, day + DAY, MIN_STEP))


@lru_cache(maxsize=32)
def _day_total(seed: int, fleet: Fleet, timezone: str, day: int) -> IntArray:
    """Units accumulated over a whole UTC day, (counters × servers)."""
    return np.asarray(_day_rates(seed, fleet, timezone, day).sum(axis=0) * MIN_STEP)


@lru_cache(maxsize=4)
def _day_prefix(seed: int, fleet: Fleet, timezone: str, day: int) -> IntArray:
    """Units accumulated from the day's start to each tick, (ticks + 1 × counters × servers)."""
    rates = _day_rates(seed, fleet, timezone, day) * MIN_STEP
    prefix = np.zeros((_TICKS_PER_DAY + 1, *rates.shape[1:]), dtype=np.int64)
    np.cumsum(rates, axis=0, out=prefix[1:])
    return prefix


# --- rendering ---------------------------------------------------------------------------


class _FleetCollector:
    """A prometheus-client collector yielding one sample's metric families."""

    def __init__(self, sample: FleetSample) -> None:
        self.sample = sample

    def collect(self) -> Iterator[Metric]:
        s = self.sample
        labels = [_server_labels(t) for t in s.servers]
        f = s.frame
        yield _gauge(names.BOOT_TIME, "Node boot time, in unixtime (the counter epoch).",
                     labels, [float(s.boot)] * len(labels))
        yield _cpu_family(s, labels)
        memory_total = np.array([t.memory_total_mb * _MIB for t in s.servers], dtype=np.int64)
        disk_total = np.array([t.disk_total_mb * _MIB for t in s.servers], dtype=np.int64)
        yield _gauge(names.MEMORY_TOTAL, "Memory information field MemTotal_bytes.",
                     labels, memory_total)
        yield _gauge(names.MEMORY_AVAILABLE,
                     "Memory information field MemAvailable_bytes.",
                     labels, _available(memory_total, f.memory[0]))
        yield from _filesystem_families(labels, disk_total, f.disk[0])
        yield from _network_families(s, labels)
        yield _gauge(names.CONNECTIONS, "Statistic TcpCurrEstab.", labels, f.connections[0])
        yield _uname_family(s, labels)
        yield _gauge(names.RESPONSE_TIME, "Application response time, in seconds.",
                     labels, f.response_time[0] / 1000.0)
        yield _gauge(names.START_TIME, "When the application service last started, in unixtime.",
                     labels, s.started)


def _server_labels(t: ServerTemplate) -> list[str]:
    return [t.id, t.name, t.role, t.location, t.environment, t.platform]


def _available(total: IntArray, percent_used: FloatArray) -> IntArray:
    """Bytes free when ``percent_used`` (two decimals) of ``total`` is used."""
    used_centi = np.rint(percent_used * 100).astype(np.int64)
    return np.asarray(total - np.rint(total * (used_centi / 10_000)).astype(np.int64))


def _gauge(
    name: str, doc: str, labels: list[list[str]], values: npt.ArrayLike,
    extra: tuple[str, ...] = (), extra_values: tuple[str, ...] = (),
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[*names.SERVER_LABELS, *extra])
    for server, value in zip(labels, np.asarray(values).tolist(), strict=True):
        family.add_metric([*server, *extra_values], float(value))
    return family


def _cpu_family(s: FleetSample, labels: list[list[str]]) -> CounterMetricFamily:
    family = CounterMetricFamily(names.CPU_SECONDS, "Seconds the CPUs spent in each mode.",
                                 labels=[*names.SERVER_LABELS, "cpu", "mode"])
    modes = (("idle", s.counters["cpu_idle"]), ("system", s.counters["cpu_system"]),
             ("user", s.counters["cpu_user"]))
    for j, (server, template) in enumerate(zip(labels, s.servers, strict=True)):
        for cpu in range(template.cpu_cores):
            for mode, totals in modes:
                family.add_metric([*server, str(cpu), mode], float(totals[j]))
    return family


def _filesystem_families(
    labels: list[list[str]], size: IntArray, percent_used: FloatArray
) -> Iterator[GaugeMetricFamily]:
    extra = ("device", "fstype", "mountpoint")
    yield _gauge(names.FILESYSTEM_SIZE, "Filesystem size in bytes.",
                 labels, size, extra, _FILESYSTEM)
    yield _gauge(names.FILESYSTEM_AVAIL,
                 "Filesystem space available to non-root users in bytes.",
                 labels, _available(size, percent_used), extra, _FILESYSTEM)


def _network_families(s: FleetSample, labels: list[list[str]]) -> Iterator[CounterMetricFamily]:
    for metric, eth0 in ((names.NETWORK_RECEIVE, s.counters["eth0_rx"]),
                         (names.NETWORK_TRANSMIT, s.counters["eth0_tx"])):
        statistic = metric.removeprefix("node_network_")
        family = CounterMetricFamily(metric, f"Network device statistic {statistic}.",
                                     labels=[*names.SERVER_LABELS, "device"])
        for j, server in enumerate(labels):
            family.add_metric([*server, "eth0"], float(eth0[j]))
            family.add_metric([*server, "lo"], float(s.counters["lo"][j]))
        yield family


def _uname_family(s: FleetSample, labels: list[list[str]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(names.UNAME_INFO, "Labeled system information.",
                               labels=[*names.SERVER_LABELS, "nodename", "sysname", "machine"])
    for server, template in zip(labels, s.servers, strict=True):
        family.add_metric([*server, template.hostname, "Linux", "x86_64"], 1.0)
    return family

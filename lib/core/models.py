"""Plain records shared by every layer: metric rows, server templates, incidents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from .timeutil import format_iso

__all__ = [
    "METRIC_COLUMNS",
    "ROLES",
    "ROLLUP_METRICS",
    "ROLLUP_STATS",
    "STATUSES",
    "AffectedServer",
    "Incident",
    "MetricRow",
    "Role",
    "Rollup",
    "ServerTemplate",
    "Status",
    "worst_status",
]

Role = Literal["web", "api", "db", "cache", "worker"]
ROLES: tuple[Role, ...] = ("web", "api", "db", "cache", "worker")

Status = Literal["healthy", "warning", "critical"]
STATUSES: tuple[Status, ...] = ("healthy", "warning", "critical")

# Column order of a metric row everywhere (export, stores, API).
METRIC_COLUMNS = (
    "timestamp",
    "server_id",
    "cpu",
    "memory",
    "disk",
    "response_time",
    "network_rx",
    "network_tx",
    "connections",
    "status",
)


class MetricRow(NamedTuple):
    """One server at one tick. ``timestamp`` is epoch seconds (UTC).

    A named tuple rather than a frozen dataclass: stores build thousands per page, and a
    tuple is built in C (``MetricRow._make``) where a frozen dataclass sets each field in Python.
    """

    timestamp: int
    server_id: str
    cpu: float
    memory: float
    disk: float
    response_time: int | None
    network_rx: float
    network_tx: float
    connections: int
    status: Status

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict with an ISO 8601 ``...Z`` timestamp, in METRIC_COLUMNS order."""
        ts, sid, cpu, memory, disk, rt, rx, tx, conn, status = self
        return {
            "timestamp": format_iso(ts), "server_id": sid, "cpu": cpu, "memory": memory,
            "disk": disk, "response_time": rt, "network_rx": rx, "network_tx": tx,
            "connections": conn, "status": status,
        }


@dataclass(frozen=True, slots=True)
class AffectedServer:
    """A server an incident reached, and when its effect began (epoch seconds)."""

    server_id: str
    onset: int


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth of one injected failure (the seeds' ``scenario_execution_log``).

    ``affected`` lists the origin first (its onset is ``start``), then every server the
    failure spread to, each with a later onset. The effect on every server ends at ``end``.
    """

    id: str
    pattern: str
    origin: str
    start: int
    end: int
    intensity: float
    affected: tuple[AffectedServer, ...]

    def affected_list(self) -> list[dict[str, str]]:
        """``affected`` as JSON-ready dicts (the API and every store use this one shape)."""
        return [{"server_id": a.server_id, "onset": format_iso(a.onset)} for a in self.affected]

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "pattern": self.pattern,
            "origin": self.origin,
            "affected": self.affected_list(),
            "start": format_iso(self.start),
            "end": format_iso(self.end),
            "intensity": self.intensity,
        }


@dataclass(frozen=True, slots=True)
class ServerTemplate:
    """One server's fixed description (the seeds' ``server_templates`` row)."""

    id: str
    name: str
    hostname: str
    role: Role
    location: str
    environment: str
    cpu_cores: int
    memory_total_mb: int
    disk_total_mb: int
    services: tuple[str, ...]
    platform: str = "vm"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "hostname": self.hostname,
            "role": self.role,
            "location": self.location,
            "environment": self.environment,
            "cpu_cores": self.cpu_cores,
            "memory_total_mb": self.memory_total_mb,
            "disk_total_mb": self.disk_total_mb,
            "services": list(self.services),
            "platform": self.platform,
        }


# An hour's rollup holds these statistics of these metrics (``values`` in this order).
ROLLUP_METRICS = ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx",
                  "connections")
ROLLUP_STATS = ("min", "avg", "max", "p95")


def worst_status(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses`` (healthy < warning < critical); healthy when there are none."""
    return max(statuses, key=STATUSES.index, default="healthy")


class Rollup(NamedTuple):
    """One server's metrics over one UTC hour (or day): the seeds' ``server_metrics_history``.

    ``values`` holds, for each of ROLLUP_METRICS, its ROLLUP_STATS over the period's samples
    (None for a metric no sample had, such as a source without response times); ``status``
    is the worst status of the period.
    """

    server_id: str
    start: int  # epoch seconds of the period's start
    samples: int
    values: tuple[float | None, ...]
    status: Status

    def stats(self, metric: str) -> dict[str, float | None]:
        at = ROLLUP_METRICS.index(metric) * len(ROLLUP_STATS)
        return dict(zip(ROLLUP_STATS, self.values[at:at + len(ROLLUP_STATS)], strict=True))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: ``{timestamp, samples, cpu: {min, avg, max, p95}, ..., status}``."""
        return {"timestamp": format_iso(self.start), "samples": self.samples,
                **{m: self.stats(m) for m in ROLLUP_METRICS}, "status": self.status}

"""The live view: ``GET /api/monitoring/servers`` — every server's snapshot at a tick, read
through the seeds' layers:

* **hot** — this process's memory, keyed by tick: polls of the same tick on a warm instance
  never leave the process;
* **warm** — the configured cache (Upstash), one key per fleet snapshot per tick
  (``snapshot:{mode}:{seed}:{tick}``): a new tick costs one GET and, on a miss, one SET.
  Skipped for a source that computes in process (the simulator: a fleet tick takes about a
  millisecond, less than any round trip to Upstash — bench/bench_budget.py measures both);
* **source** — the collector, asked for the whole fleet at once.

History is the cold layer: the store (lib.app.metrics, lib.app.performance).
"""

from __future__ import annotations

from typing import Any

import orjson

from lib.cache import Cache
from lib.collectors import Collector, Snapshot
from lib.core import (
    STATUSES,
    RangeError,
    ServerTemplate,
    Settings,
    day_start,
    format_iso,
    pick_servers,
)
from lib.sim import MIN_STEP

from .params import optional_instant, parse_server_id
from .results import Result

__all__ = ["SNAPSHOT_TTL_SECONDS", "refresh_latest", "servers_snapshot", "snapshot_key"]

# A snapshot is the answer for its own tick only; two ticks leave room for clock skew.
SNAPSHOT_TTL_SECONDS = 2 * MIN_STEP


def snapshot_key(collector: Collector, tick: int) -> str:
    """The cache key of the fleet's snapshot at ``tick`` from this source."""
    return f"snapshot:{collector.mode}:{collector.seed or 0}:{tick}"


def servers_snapshot(
    collector: Collector, hot: Cache, warm: Cache, settings: Settings, now: int, *,
    at: str | None, server_id: str | None, refresh: bool = False,
) -> Result:
    """The live view at the current 30-s tick (or ``at``), of every server or one.

    ``refresh`` skips the cache reads (the batch job uses it to re-cache the fleet).
    """
    moment = optional_instant(at, "at")
    instant = now if moment is None else moment
    if moment is not None and moment > now + MIN_STEP:
        raise RangeError("at", "must not be in the future")
    if server_id is not None:
        parse_server_id(server_id, "server_id")
    tick = instant - instant % MIN_STEP
    live = moment is None
    layers = _layers(collector, hot, warm) if live else []
    servers, source = (None, "") if refresh else _read(layers, snapshot_key(collector, tick))
    if servers is None:
        servers, source = _collect(collector, instant), collector.source
        value = orjson.dumps(servers).decode()
        for layer in layers:
            layer.set(snapshot_key(collector, tick), value, SNAPSHOT_TTL_SECONDS)
    if server_id is not None:
        servers = pick_servers([server_id], {s["id"]: s for s in servers})
    summary = {"total": len(servers), **{s: 0 for s in (*STATUSES, "offline")}}
    for server in servers:
        summary[server["status"]] += 1
    past = moment is not None and moment < day_start(now)
    return Result({"servers": servers, "summary": summary, "timestamp": format_iso(tick)},
                  source, "past" if past else "live")


def refresh_latest(collector: Collector, hot: Cache, warm: Cache, settings: Settings,
                   now: int) -> int:
    """Re-cache the fleet's current snapshot; returns how many servers it holds."""
    result = servers_snapshot(collector, hot, warm, settings, now, at=None, server_id=None,
                              refresh=True)
    return len(result.payload["servers"])


def _layers(collector: Collector, hot: Cache, warm: Cache) -> list[Cache]:
    """Where live snapshots are kept, fastest first (see the module docstring)."""
    if collector.in_process or warm is hot:
        return [hot]
    return [hot, warm]


def _read(layers: list[Cache], key: str) -> tuple[list[dict[str, Any]] | None, str]:
    """The snapshot from the first layer holding it (copied into the faster ones)."""
    for depth, layer in enumerate(layers):
        value = layer.get(key)
        if value is None:
            continue
        try:
            servers = orjson.loads(value)
        except ValueError:
            continue  # a corrupt entry is a miss
        for faster in layers[:depth]:
            faster.set(key, value, SNAPSHOT_TTL_SECONDS)
        return servers, "cache"
    return None, ""


def _collect(collector: Collector, instant: int) -> list[dict[str, Any]]:
    templates = {t.id: t for t in collector.servers()}
    snaps = collector.snapshot(sorted(templates), instant)
    return [_server_json(templates[s.row.server_id], s) for s in snaps]


def _server_json(template: ServerTemplate, snap: Snapshot) -> dict[str, Any]:
    row = snap.row
    mem_total, disk_total = template.memory_total_mb, template.disk_total_mb
    return {
        "id": template.id,
        "name": template.name,
        "hostname": template.hostname,
        "role": template.role,
        "location": template.location,
        "status": row.status if snap.online else "offline",
        "cpu": {"usage": row.cpu, "cores": template.cpu_cores},
        "memory": {"total": mem_total, "used": round(mem_total * row.memory / 100),
                   "usage": row.memory},
        "disk": {"total": disk_total, "used": round(disk_total * row.disk / 100),
                 "usage": row.disk},
        "network": {"rx": row.network_rx, "tx": row.network_tx, "connections": row.connections},
        "responseTime": row.response_time,
        "uptime": snap.uptime,
        "lastChecked": format_iso(row.timestamp),
    }

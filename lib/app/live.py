"""The live view: ``GET /api/monitoring/servers`` — every server's snapshot at a tick, read
through the cache (``server:{id}:latest``) → collector → re-cache."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from lib.cache import Cache, latest_key
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

__all__ = ["refresh_latest", "servers_snapshot"]


def servers_snapshot(
    collector: Collector, cache: Cache, settings: Settings, now: int, *,
    at: str | None, server_id: str | None, refresh: bool = False,
) -> Result:
    """The live view at the current 30-s tick (or ``at``), of every server or one.

    ``refresh`` skips the cache read (the batch job uses it to re-cache every server).
    """
    moment = optional_instant(at, "at")
    instant = now if moment is None else moment
    if moment is not None and moment > now + MIN_STEP:
        raise RangeError("at", "must not be in the future")
    if server_id is not None:
        parse_server_id(server_id, "server_id")
    templates = {t.id: t for t in collector.servers()}
    ids = sorted(templates) if server_id is None else _one(server_id, templates)
    tick = instant - instant % MIN_STEP
    live = moment is None
    servers = _cached(cache, ids, tick) if live and not refresh else None
    source = "cache"
    if servers is None:
        snaps = collector.snapshot(ids, instant)
        servers = [_server_json(templates[s.row.server_id], s) for s in snaps]
        source = collector.source
        if live:
            cache.set_many({latest_key(s["id"]): orjson.dumps({"tick": tick, "server": s}).decode()
                            for s in servers}, settings.cache_ttl_seconds)
    summary = {"total": len(servers), **{s: 0 for s in (*STATUSES, "offline")}}
    for server in servers:
        summary[server["status"]] += 1
    past = moment is not None and moment < day_start(now)
    return Result({"servers": servers, "summary": summary, "timestamp": format_iso(tick)},
                  source, "past" if past else "live")


def refresh_latest(collector: Collector, cache: Cache, settings: Settings, now: int) -> int:
    """Re-cache every server's current snapshot; returns how many were cached."""
    result = servers_snapshot(collector, cache, settings, now, at=None, server_id=None,
                              refresh=True)
    return len(result.payload["servers"])


def _one(server_id: str, templates: dict[str, ServerTemplate]) -> list[str]:
    return [t.id for t in pick_servers([server_id], templates)]


def _server_json(template: ServerTemplate, snap: Snapshot) -> dict[str, object]:
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


def _cached(cache: Cache, ids: Sequence[str], tick: int) -> list[dict[str, Any]] | None:
    """Every server's cached snapshot for ``tick``, or None if any is missing or stale."""
    values = cache.get_many([latest_key(sid) for sid in ids])
    found = []
    for value in values:
        if value is None:
            return None
        try:
            entry = orjson.loads(value)
        except ValueError:
            return None
        if entry.get("tick") != tick:
            return None
        found.append(entry["server"])
    return found

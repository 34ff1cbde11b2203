"""What the HTTP functions do, without HTTP: parse parameters, read through the tiers, shape.

Each function returns (payload, data source, cache policy); api/<path>.py only binds the
query parameters and turns the result into a response.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import orjson

from .cache.base import Cache, latest_key
from .collectors.base import Collector, Snapshot
from .config import Settings
from .errors import (
    AuthError,
    ConfigError,
    FleetError,
    InvalidParameter,
    SourceUnavailable,
    StoreError,
    UnknownServer,
)
from .fleet import ServerTemplate
from .generator import DEFAULT_STEP, MIN_STEP, tick_grid
from .http import CachePolicy, RangeError
from .models import STATUSES, MetricRow
from .params import (
    MAX_SERVER_IDS,
    decode_cursor,
    echo,
    encode_cursor,
    parse_date,
    parse_instant,
    parse_server_id,
    split_values,
)
from .pipeline import default_window, store_window
from .store.base import MetricQuery, MetricStore
from .timeutil import DAY, MIN_INSTANT, day_start, format_iso

__all__ = [
    "DAILY_DEFAULT_LIMIT",
    "DAILY_MAX_LIMIT",
    "PERFORMANCE_MAX_DAYS",
    "PERFORMANCE_MAX_POINTS",
    "Result",
    "daily_metrics",
    "generate_batch",
    "performance",
    "servers_snapshot",
    "status_report",
]

logger = logging.getLogger(__name__)

DAILY_DEFAULT_LIMIT = 1000
DAILY_MAX_LIMIT = 5000
PERFORMANCE_MAX_POINTS = 2000
# The generator works out each day's incident schedule in a window, whatever the step: a
# quarter bounds a request's work; longer history is the hourly rollups' job.
PERFORMANCE_MAX_DAYS = 92
METRICS = ("cpu", "memory", "disk", "network", "response_time")

LIVE = CachePolicy(s_maxage=5, stale_while_revalidate=25)
RECENT = CachePolicy(s_maxage=60, stale_while_revalidate=300)
PAST = CachePolicy(s_maxage=3600, stale_while_revalidate=86_400)


@dataclass(frozen=True, slots=True)
class Result:
    payload: dict[str, Any]
    source: str
    cache: CachePolicy | None


# --- parameters ------------------------------------------------------------------------


def _instant(value: str | None, parameter: str) -> int | None:
    return None if value is None else parse_instant(value, parameter)


def _window(start: int | None, end: int | None, end_name: str) -> None:
    if start is not None and end is not None and end < start:
        raise RangeError(end_name, "must not be before the start of the window")


def _known_ids(collector: Collector) -> set[str]:
    return {s.id for s in collector.servers()}


def _check_servers(ids: Sequence[str], collector: Collector, parameter: str) -> None:
    known = _known_ids(collector)
    for sid in ids:
        if sid not in known:
            raise UnknownServer(parameter, sid)


def _points(start: int, end: int, step: int) -> int:
    """How many ticks of the global ``step`` grid lie in [start, end), by arithmetic."""
    first = -(-start // step) * step
    return 0 if first >= end else (end - 1 - first) // step + 1


# --- GET /api/metrics/daily ------------------------------------------------------------


def daily_metrics(
    store: MetricStore, collector: Collector, now: int, *, server_id: Sequence[str] | None,
    start_time: str | None, end_time: str | None, status: Sequence[str] | None, limit: int,
    cursor: str | None,
) -> Result:
    """Stored rows, filtered and keyset-paged, ordered by timestamp then server id."""
    start = _instant(start_time, "start_time")
    end = _instant(end_time, "end_time")
    _window(start, end, "end_time")
    ids = [parse_server_id(sid, "server_id")
           for sid in split_values(server_id, "server_id", MAX_SERVER_IDS)]
    if ids:
        try:
            _check_servers(ids, collector, "server_id")
        except SourceUnavailable as exc:
            # Stored history does not need the live source; unknown ids just match nothing.
            logger.warning("source down; server ids not checked: %s", exc)
    statuses = split_values(status, "status", len(STATUSES))
    for value in statuses:
        if value not in STATUSES:
            raise InvalidParameter("status", f"unknown status {echo(value)} (healthy, warning, "
                                   "critical)")
    query = MetricQuery(
        server_ids=tuple(ids) or None, start=start, end=end,
        statuses=tuple(s for s in STATUSES if s in statuses) or None,
        limit=limit + 1, after=decode_cursor(cursor) if cursor is not None else None,
    )
    rows = store.query_metrics(query)
    page = rows[:limit]
    more = len(rows) > limit
    past = end is not None and end <= day_start(now)
    return Result(
        {"data": [r.as_dict() for r in page], "count": len(page),
         "next_cursor": encode_cursor(page[-1].timestamp, page[-1].server_id)
                        if more and page else None},
        "store", PAST if past else RECENT,
    )


# --- GET /api/monitoring/servers -------------------------------------------------------


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


def servers_snapshot(
    collector: Collector, cache: Cache, settings: Settings, now: int, *,
    at: str | None, server_id: str | None, refresh: bool = False,
) -> Result:
    """The live view: cache (``server:{id}:latest``) → collector → re-cache.

    ``refresh`` skips the cache read (the batch job uses it to re-cache every server).
    """
    moment = _instant(at, "at")
    instant = now if moment is None else moment
    if moment is not None and moment > now + MIN_STEP:
        raise RangeError("at", "must not be in the future")
    if server_id is not None:
        parse_server_id(server_id, "serverId")
    templates = {t.id: t for t in collector.servers()}
    ids = sorted(templates)
    if server_id is not None:
        if server_id not in templates:
            raise UnknownServer("serverId", server_id)
        ids = [server_id]
    tick = instant - instant % MIN_STEP
    live = moment is None
    servers = _cached(cache, ids, tick) if live and not refresh else None
    source = "cache"
    if servers is None:
        snaps = collector.snapshot(ids, instant)
        servers = [_server_json(templates[s.row.server_id], s) for s in snaps]
        source = "generator" if collector.mode == "dummy" else "collector"
        if live:
            cache.set_many({latest_key(s["id"]): orjson.dumps({"tick": tick, "server": s}).decode()
                            for s in servers}, settings.cache_ttl_seconds)
    summary = {"total": len(servers), **{s: 0 for s in (*STATUSES, "offline")}}
    for server in servers:
        summary[server["status"]] += 1
    past = moment is not None and moment < day_start(now)
    return Result({"servers": servers, "summary": summary, "timestamp": format_iso(tick)},
                  source, PAST if past else LIVE)


def refresh_latest(collector: Collector, cache: Cache, settings: Settings, now: int) -> int:
    """Re-cache every server's current snapshot; returns how many were cached."""
    result = servers_snapshot(collector, cache, settings, now, at=None, server_id=None,
                              refresh=True)
    return len(result.payload["servers"])


# --- GET /api/monitoring/performance ---------------------------------------------------


def _point(row: MetricRow, metric: str | None) -> dict[str, object]:
    full: dict[str, object] = {
        "timestamp": format_iso(row.timestamp),
        "cpu": row.cpu,
        "memory": row.memory,
        "disk": row.disk,
        "network": {"rx": row.network_rx, "tx": row.network_tx},
        "responseTime": row.response_time,
    }
    if metric is None:
        return full
    name = "responseTime" if metric == "response_time" else metric
    return {"timestamp": full["timestamp"], name: full[name]}


def _from_store(store: MetricStore, server: str, start: int, end: int, step: int
                ) -> list[MetricRow] | None:
    """Stored rows when the store holds every tick of the window at this step, else None.

    Only where that costs at most DAILY_MAX_LIMIT stored rows: a coarse step over a long
    window would read every 10-minute row just to keep one in many.
    """
    if step % DEFAULT_STEP:
        return None
    wanted = tick_grid(start, end, step)
    if not len(wanted):
        return None
    stored = (int(wanted[-1]) - int(wanted[0])) // DEFAULT_STEP + 1
    if stored > DAILY_MAX_LIMIT:
        return None
    try:
        rows = store.query_metrics(MetricQuery(
            server_ids=(server,), start=int(wanted[0]), end=int(wanted[-1]) + 1, limit=stored,
        ))
    except StoreError as exc:
        logger.warning("store unavailable for performance, using the collector: %s",
                       exc.public)
        return None
    picked = [r for r in rows if r.timestamp % step == 0]
    if [r.timestamp for r in picked] != wanted.tolist():
        return None
    return picked


def performance(
    store: MetricStore, collector: Collector, now: int, *, server_id: str,
    start_time: str | None, end_time: str | None, metric: str | None, step: int | None,
) -> Result:
    """One server's history: stored rows where the store covers the window, else the source.

    Every check is arithmetic on the parameters, done before any work: the number of points
    is counted, never built, so no request can ask for more than PERFORMANCE_MAX_POINTS.
    """
    parse_server_id(server_id, "serverId")
    if metric is not None and metric not in METRICS:
        raise InvalidParameter("metric", f"unknown metric {echo(metric)} ({', '.join(METRICS)})")
    start = _instant(start_time, "from")
    end = _instant(end_time, "to")
    end = end if end is not None else now
    # The default start never reaches before the supported range (1900-01-01T00:00:00Z).
    start = start if start is not None else max(end - 3600, MIN_INSTANT)
    _window(start, end, "to")
    if end - start > PERFORMANCE_MAX_DAYS * DAY:
        raise RangeError("from", f"a window covers at most {PERFORMANCE_MAX_DAYS} days")
    step = step if step is not None else DEFAULT_STEP
    points = _points(start, end, step)
    if points > PERFORMANCE_MAX_POINTS:
        raise RangeError("step", f"the window holds {points} points at step {step}; at most "
                         f"{PERFORMANCE_MAX_POINTS} per response: raise step or narrow it")
    if server_id not in _known_ids(collector):
        raise UnknownServer("serverId", server_id)
    rows = _from_store(store, server_id, start, end, step)
    source = "store"
    if rows is None:
        rows = collector.window(start, end, step, [server_id])
        source = "generator" if collector.mode == "dummy" else "collector"
    return Result(
        {"serverId": server_id, "from": format_iso(start), "to": format_iso(end), "step": step,
         "metrics": [_point(r, metric) for r in rows]},
        source, PAST if end <= day_start(now) else RECENT,
    )


# --- /api/generate-batch ---------------------------------------------------------------


def authorize_cron(settings: Settings, token: str | None, *, local: bool = False) -> None:
    """The bearer token must equal CRON_SECRET (compared in constant time).

    With no secret set the batch refuses to run anywhere (ConfigError: 503), except on the
    local development server (``local``), which says so when it starts.
    """
    secret = settings.cron_secret
    if not secret:
        if local:
            return
        raise ConfigError("CRON_SECRET", "not set; the batch refuses to run unprotected")
    if not hmac.compare_digest((token or "").encode(), secret.encode()):
        raise AuthError("missing or wrong Authorization bearer token")


def batch_window(date: str | None, start: str | None, end: str | None, now: int
                 ) -> tuple[int, int]:
    """The window a batch request asks for: each value checked, then how they combine."""
    day = None if date is None else parse_date(date, "date")
    lo, hi = _instant(start, "start"), _instant(end, "end")
    if day is not None:
        if start is not None or end is not None:
            raise RangeError("date", "use either date or start/end, not both")
        return day, day + DAY
    if lo is None and hi is None:
        return default_window(now)
    if lo is None or hi is None:
        raise RangeError("start" if lo is None else "end", "start and end go together")
    if hi <= lo:
        raise RangeError("end", "must be after start")
    if hi - lo > 7 * DAY:
        raise RangeError("end", "a batch covers at most 7 days")
    return lo, hi


def generate_batch(
    store: MetricStore, cache: Cache, collector: Collector, settings: Settings, now: int, *,
    date: str | None, start: str | None, end: str | None,
) -> Result:
    """Collect the window into the store, prune past retention, refresh the live cache."""
    lo, hi = batch_window(date, start, end, now)
    # History is what has happened: the window stops at the current tick.
    hi = min(hi, now - now % DEFAULT_STEP + DEFAULT_STEP)
    if hi <= lo:
        raise RangeError("date" if date is not None else "start", "the window lies in the future")
    cutoff = now - settings.retention_hours * 3600
    if hi <= cutoff:
        raise RangeError("date" if date is not None else "end",
                         f"the window ends before the retention cutoff {format_iso(cutoff)} "
                         f"(RETENTION_HOURS={settings.retention_hours}); it would be pruned")
    result = store_window(collector, store, lo, hi)
    pruned = store.prune(cutoff)
    cached = refresh_latest(collector, cache, settings, now)
    return Result(
        {"window": result.window(), "rows": result.rows, "incidents": result.incidents,
         "pruned": pruned, "cached": cached, "duration_ms": result.duration_ms},
        "generator" if collector.mode == "dummy" else "collector", None,
    )


# --- GET /api/status -------------------------------------------------------------------


# Status answers within this budget whatever the backends do; a probe still running by then
# is reported as timed out (it finishes in the background, bounded by its own timeout).
STATUS_BUDGET_SECONDS = 1.5


def _public(exc: BaseException) -> str:
    return exc.public if isinstance(exc, FleetError) else "unexpected error"


def _store_probe(store: MetricStore) -> str | None:
    store.health()
    tick = store.last_tick()
    return format_iso(tick) if tick is not None else None


def _run_probes(probes: dict[str, Callable[[], Any]], budget: float
                ) -> dict[str, tuple[bool, Any, str | None]]:
    """Each probe run at once in its own thread: name → (ok, value, public error)."""
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="status")
    futures: dict[str, Future[Any]] = {name: pool.submit(probe) for name, probe in
                                       probes.items()}
    pool.shutdown(wait=False)  # never wait on a stuck backend past the budget
    deadline = time.monotonic() + budget
    results: dict[str, tuple[bool, Any, str | None]] = {}
    for name, future in futures.items():
        try:
            value = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = (False, None, f"no answer within {budget:g} s")
        except Exception as exc:  # a status page reports failures; it never raises them
            results[name] = (False, None, _public(exc))
        else:
            results[name] = (True, value, None)
    return results


def status_report(store: MetricStore, cache: Cache, collector: Collector, settings: Settings,
                  budget: float = STATUS_BUDGET_SECONDS) -> Result:
    """Which backends are configured and whether each answers now, within ``budget``."""
    found = _run_probes({
        "store": lambda: _store_probe(store),
        "source": collector.health,
        "servers": lambda: len(collector.servers()),
        "cache": cache.ping,
    }, budget)
    store_ok, last, store_error = found["store"]
    source_ok, _, source_error = found["source"]
    payload = {
        "collector": {"mode": collector.mode, "ok": source_ok, "error": source_error},
        "store": {"backend": store.name, "ok": store_ok, "error": store_error,
                  "last_tick": last},
        "cache": {"backend": cache.name, "ok": bool(found["cache"][1])},
        "fleet": {"profile": settings.fleet_profile, "servers": found["servers"][1],
                  "seed": settings.metrics_seed if collector.mode == "dummy" else None},
        "retention_hours": settings.retention_hours,
    }
    return Result(payload, "store" if store_ok else "generator", None)

"""Incident analysis over the service's own data: ``GET /api/analysis/incidents`` (what went
wrong in a window) and ``GET /api/analysis/server`` / ``servers`` (health, current anomalies
against their baselines, forecasts at an instant). The analysis itself is lib.analysis.

Both analyse the stored 10-minute rows — where the store holds a whole UTC day, else the
collector's rows of that day — with ANALYSIS_HISTORY_DAYS of history before the window for
the baselines. A window is at most ANALYSIS_MAX_DAYS: the work grows with the rows read
(bench/bench_analysis.py: about 0.1 s per fleet-day, plus the reads), and a Vercel function
has 30 s; a longer window gets a 400 ``window_too_large`` before any work.

Answers are cached like the live view (lib.app.live): in this process (hot) and in the
configured cache (warm), under ``analysis:…`` keys. A settled window is kept a day, one that
reaches into today ANALYSIS_RECENT_TTL seconds; the per-server view is computed once per
10-minute tick for the whole fleet.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from lib.analysis import Analysis, Panel, analyze_panel, describe_server
from lib.cache import Cache
from lib.collectors import Collector, simulator_from
from lib.core import (
    DAY,
    MIN_INSTANT,
    MetricRow,
    NotFound,
    RangeError,
    Settings,
    SourceUnavailable,
    StoreError,
    WindowTooLarge,
    count_ticks,
    day_start,
    format_iso,
    pick_servers,
)
from lib.sim import DEFAULT_STEP, MIN_STEP
from lib.store import MetricQuery, MetricStore

from .params import check_order, optional_instant, parse_server_id
from .results import Result, freshness_of

__all__ = [
    "ANALYSIS_HISTORY_DAYS",
    "ANALYSIS_MAX_DAYS",
    "analysis_rows",
    "analyzed_incidents",
    "ground_truth",
    "server_analysis",
    "servers_analysis",
]

logger = logging.getLogger(__name__)

ANALYSIS_MAX_DAYS = 7
ANALYSIS_HISTORY_DAYS = 7
ANALYSIS_DEFAULT_SECONDS = DAY
ANALYSIS_RECENT_TTL = 600
ANALYSIS_PAST_TTL = DAY


# --- GET /api/analysis/incidents ----------------------------------------------------------


def analyzed_incidents(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int, *,
    start: str | None, end: str | None,
) -> Result:
    """Incidents that start in [start, end) (default: the last day), detected in the rows."""
    lo, hi = _window(start, end, now)
    first, stop = _tick_ceiling(lo), _tick_ceiling(hi)  # the ticks the window holds
    key = f"analysis:incidents:{_source_key(collector)}:{first}:{stop}"
    freshness = freshness_of(hi, now)
    history_from = first - ANALYSIS_HISTORY_DAYS * DAY
    payload: dict[str, Any] = {"from": format_iso(lo), "to": format_iso(hi),
                               "step": DEFAULT_STEP, "history_from": format_iso(history_from)}
    if first >= stop:  # no tick in the window
        return Result({**payload, "count": 0, "incidents": []}, collector.source, freshness)
    cached = read_cached([hot, warm], key)
    if cached is not None:
        return Result({**payload, **cached}, "cache", freshness)
    roles = _roles(collector)
    rows, source = analysis_rows(store, collector, history_from, stop, sorted(roles), first)
    incidents: list[dict[str, object]] = []
    if rows:
        analysis = analyze_panel(Panel.from_rows(rows, DEFAULT_STEP), roles)
        incidents = [i.as_dict() for i in analysis.incidents if first <= i.start < stop]
    found = {"count": len(incidents), "incidents": incidents}
    write_cached([hot, warm], key, found, ANALYSIS_PAST_TTL if freshness == "past"
           else ANALYSIS_RECENT_TTL)
    return Result({**payload, **found}, source, freshness)


def _window(start: str | None, end: str | None, now: int) -> tuple[int, int]:
    lo, hi = optional_instant(start, "start"), optional_instant(end, "end")
    if hi is not None and hi > now + MIN_STEP:
        raise RangeError("end", "must not be in the future")
    hi = min(hi if hi is not None else now, now)
    lo = lo if lo is not None else max(hi - ANALYSIS_DEFAULT_SECONDS, MIN_INSTANT)
    check_order(lo, hi)
    if hi - lo > ANALYSIS_MAX_DAYS * DAY:
        raise WindowTooLarge("start", f"a window covers at most {ANALYSIS_MAX_DAYS} days of "
                             "analysis; split it")
    return lo, hi


def _tick_ceiling(instant: int) -> int:
    """The first 10-minute tick at or after ``instant``: [lo, hi) holds the ticks of
    [ceiling(lo), ceiling(hi)), so every instant between two ticks gives the same answer and
    cache key."""
    return -(-instant // DEFAULT_STEP) * DEFAULT_STEP


# --- GET /api/analysis/truth -------------------------------------------------------------


def ground_truth(collector: Collector, settings: Settings, now: int, *, start: str | None,
                 end: str | None) -> Result:
    """The simulator's own record of the incidents overlapping [start, end) (default: the
    last day; at most 7 days), for people training detectors. A real source has none (404).
    The analysis never reads it; only the scorecards and this endpoint do."""
    lo, hi = _window(start, end, now)
    if collector.seed is None:
        raise NotFound("source", "a real source has no ground truth; only the simulator does")
    incidents = [i.as_dict() for i in simulator_from(settings).incidents(lo, hi)]
    return Result({"from": format_iso(lo), "to": format_iso(hi), "count": len(incidents),
                   "incidents": incidents}, "generator", freshness_of(hi, now))


# --- GET /api/analysis/server, /api/analysis/servers --------------------------------------


def servers_analysis(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int, *,
    at: str | None,
) -> Result:
    """Every server's health, current anomalies and forecasts at ``at`` (default: now)."""
    tick, servers, source = _fleet_view(store, collector, hot, warm, now, at)
    return Result({"at": format_iso(tick), "servers": servers}, source,
                  "live" if at is None else freshness_of(tick + 1, now))


def server_analysis(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int, *,
    server_id: str, at: str | None,
) -> Result:
    """One server's health, current anomalies and forecasts at ``at`` (default: now)."""
    parse_server_id(server_id, "server_id")
    tick, servers, source = _fleet_view(store, collector, hot, warm, now, at, server_id)
    [server] = pick_servers([server_id], {s["server_id"]: s for s in servers})
    return Result(server, source, "live" if at is None else freshness_of(tick + 1, now))


def _fleet_view(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int,
    at: str | None, server_id: str | None = None,
) -> tuple[int, list[dict[str, Any]], str]:
    moment = optional_instant(at, "at")
    if moment is not None and moment > now + MIN_STEP:
        raise RangeError("at", "must not be in the future")
    instant = min(now if moment is None else moment, now)
    tick = instant - instant % DEFAULT_STEP
    key = f"analysis:servers:{_source_key(collector)}:{tick}"
    cached = read_cached([hot, warm], key)
    if cached is not None:
        return tick, cached["servers"], "cache"
    roles = _roles(collector)
    if server_id is not None:
        pick_servers([server_id], roles)  # UnknownServer before the analysis
    lo = tick - ANALYSIS_HISTORY_DAYS * DAY
    rows, source = analysis_rows(store, collector, lo, tick + DEFAULT_STEP, sorted(roles),
                                 tick)
    panel = Panel.from_rows(rows, DEFAULT_STEP)
    analysis = analyze_panel(panel, roles) if rows else None
    servers = [_describe(analysis, panel, sid, tick, roles[sid]) for sid in sorted(roles)]
    write_cached([hot, warm], key, {"servers": servers},
           ANALYSIS_PAST_TTL if tick + DEFAULT_STEP <= day_start(now) else ANALYSIS_RECENT_TTL)
    return tick, servers, source


def _describe(analysis: Analysis | None, panel: Panel, server_id: str, tick: int, role: str
              ) -> dict[str, Any]:
    """describe_server at the server's last tick with data up to ``tick`` (``data``:
    ``current`` when that is ``tick``, else ``stale``), or ``none`` when it has no rows."""
    if analysis is not None and server_id in panel.server_ids:
        col = panel.server_ids.index(server_id)
        seen = np.flatnonzero(~np.isnan(np.stack(
            [panel.values[m][:, col] for m in ("cpu", "memory", "disk")])).all(axis=0))
        if len(seen):
            last = int(panel.timestamps[seen[-1]])
            described = describe_server(analysis.detection, server_id, last, role,
                                        episodes=analysis.episodes)
            described["data"] = "current" if last == tick else "stale"
            return described
    return {"server_id": server_id, "role": role, "at": None, "health": None, "parts": {},
            "alarm": False, "anomalies": [], "since": None, "forecast": {}, "data": "none"}


# --- rows ----------------------------------------------------------------------------------


def analysis_rows(
    store: MetricStore, collector: Collector, start: int, end: int,
    server_ids: Sequence[str], window_start: int,
) -> tuple[list[MetricRow], str]:
    """The 10-minute rows of [start, end): each UTC day from the store when it holds every
    server's every tick of it, else from the collector; the data source of the part from
    ``window_start`` on (``store`` or the collector's) for X-Data-Source.

    A store outage falls back to the collector and a source outage to whatever the store
    has; only both down is an error (SourceUnavailable).
    """
    stored = _stored(store, start, end, len(server_ids))
    by_day: dict[int, list[MetricRow]] = defaultdict(list)
    for row in stored or []:
        by_day[day_start(row.timestamp)].append(row)
    rows: list[MetricRow] = []
    window_sources: set[str] = set()
    for day in range(day_start(start), end, DAY):
        lo, hi = max(day, start), min(day + DAY, end)
        expected = count_ticks(lo, hi, DEFAULT_STEP) * len(server_ids)
        part, source = by_day.get(day, []), "store"
        if len(part) < expected:
            try:
                part, source = collector.window(lo, hi, DEFAULT_STEP, server_ids), \
                    collector.source
            except SourceUnavailable:
                if stored is None:
                    raise
                logger.warning("source down; analysing the store's partial rows of %s",
                               format_iso(day))
        rows.extend(part)
        if hi > window_start:
            window_sources.add(source)
    return rows, "store" if window_sources == {"store"} else collector.source


def _stored(store: MetricStore, start: int, end: int, servers: int) -> list[MetricRow] | None:
    """Every stored row of [start, end), or None when the store is unavailable."""
    limit = count_ticks(start, end, DEFAULT_STEP) * servers + 1
    try:
        return store.query_metrics(MetricQuery(start=start, end=end, limit=limit))
    except StoreError as exc:
        logger.warning("store unavailable for analysis, using the collector: %s", exc.public)
        return None


def _roles(collector: Collector) -> dict[str, str]:
    return {t.id: t.role for t in collector.servers()}


def _source_key(collector: Collector) -> str:
    return f"{collector.mode}:{collector.seed or 0}"


# --- cache layers --------------------------------------------------------------------------


def read_cached(layers: Sequence[Cache], key: str) -> Any:
    """The JSON under ``key`` in the first layer holding it (copied into the faster ones);
    None when no layer holds it, or holds it corrupt."""
    for depth, layer in enumerate(distinct_layers(layers)):
        value = layer.get(key)
        if value is None:
            continue
        try:
            payload = orjson.loads(value)
        except ValueError:
            continue
        for faster in distinct_layers(layers)[:depth]:
            faster.set(key, value, ANALYSIS_RECENT_TTL)
        return payload
    return None


def write_cached(layers: Sequence[Cache], key: str, payload: Mapping[str, Any], ttl: int
                 ) -> None:
    value = orjson.dumps(payload).decode()
    for layer in distinct_layers(layers):
        layer.set(key, value, ttl)


def distinct_layers(layers: Sequence[Cache]) -> list[Cache]:
    """``layers`` without repeats (a deployment with no shared cache uses one for both)."""
    return [layer for i, layer in enumerate(layers) if layer not in layers[:i]]

"""Alerting over the service's own data: ``POST /api/alerts/evaluate`` and the reads and
writes around it (``GET /api/alerts``, history, silences, acknowledgement).

One evaluation per minute tick, across every instance:

1. a lock in the cache (``SET NX`` with the tick as TTL) lets one caller through;
2. the engine's state is read from the store; a tick already evaluated is not redone;
3. the engine sees the analysis of the 10-minute rows up to the tick (computed once per
   10-minute tick and cached like the analysis endpoints) and the live values of the tick;
4. the new state is written with compare-and-set — it carries the tick's notifications and
   history (a transactional outbox): if another writer got there first nothing is kept, if
   the process dies after the write the next evaluation copies them out;
5. they are copied to the outbox table (each key once, whoever inserts it) and delivered:
   oldest first, in order per group and channel, each delivery claimed in the cache first.
   A failed delivery stays pending with its attempts counted and is retried next time.

docs/alerts.md says what each endpoint returns.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from lib.alerts import DeliveryError, Notification, fingerprint
from lib.alerts.engine import EngineState, IncidentView, ServerTick, TickInput, step
from lib.alerts.rules import RuleSet
from lib.alerts.silences import Matcher, Silence
from lib.alerts.view import DEFAULT_LOOKBACK, Watcher
from lib.analysis import Panel, detect
from lib.cache import Cache
from lib.collectors import Collector
from lib.core import (
    DAY,
    AuthError,
    ConfigError,
    FleetError,
    InvalidParameter,
    MetricRow,
    NotFound,
    RangeError,
    Settings,
    StoreUnavailable,
    day_start,
    format_iso,
)
from lib.sim import DEFAULT_STEP
from lib.store import AlertEvent, MetricStore, OutboxItem

from .analysis import (
    ANALYSIS_HISTORY_DAYS,
    analysis_rows,
    distinct_layers,
    read_cached,
    write_cached,
)
from .params import (
    ALERT_CURSOR_PATTERN,
    echo,
    optional_instant,
    parse_instant,
    parse_server_id,
)
from .results import Result
from .rowpack import pack_rows, unpack_rows

__all__ = [
    "EVAL_STEP",
    "LABEL_PATTERN",
    "MAX_ATTEMPTS",
    "Sender",
    "acknowledge",
    "alert_history",
    "authorize_alerts",
    "create_silence",
    "evaluate",
    "evaluate_on_poll",
    "expire_silence",
    "list_alerts",
    "list_silences",
]

logger = logging.getLogger(__name__)

EVAL_STEP = 60             # one evaluation per minute
MAX_ATTEMPTS = 20          # deliveries retried this many times (about 20 minutes), then kept
DELIVERY_BATCH = 50
MAX_SILENCE_DAYS = 90
VIEW_TTL = 2 * DEFAULT_STEP
DAY_TTL = (ANALYSIS_HISTORY_DAYS + 2) * DAY   # a packed past day, while the view reads it
SETTLED = 3600             # a day is cached an hour after it ends (late writes land first)

T = TypeVar("T")


class Sender(Protocol):
    """A notification channel (lib.alerts.channels): ``send`` raises DeliveryError."""

    name: str

    def send(self, notification: Notification) -> None: ...


def authorize_alerts(settings: Settings, token: str | None, *, local: bool = False) -> None:
    """Writes need ``ALERTS_TOKEN`` as a bearer token (constant-time compare); without the
    variable they are refused (503) everywhere but the local development server."""
    secret = settings.alerts_token
    if not secret:
        if local:
            return
        raise ConfigError("ALERTS_TOKEN", "not set; alert writes are refused unprotected")
    if not hmac.compare_digest((token or "").encode(), secret.encode()):
        raise AuthError("missing or wrong Authorization bearer token")


# --- evaluate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Backends:
    store: MetricStore
    collector: Collector
    hot: Cache
    warm: Cache


def evaluate(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int,
    rules: RuleSet, senders: Sequence[Sender],
) -> Result:
    """Evaluate the current minute tick (once across instances) and deliver what is due."""
    tick = now - now % EVAL_STEP
    backends = _Backends(store, collector, hot, warm)
    evaluated, firing, pending = False, 0, 0
    if warm.add(f"alerts:lock:{tick}", "1", EVAL_STEP):
        evaluated, state = _evaluate_tick(backends, tick, rules, senders)
        firing = sum(1 for a in state.alerts.values() if a["state"] == "firing")
        pending = sum(1 for a in state.alerts.values() if a["state"] == "pending")
    sent, failed = deliver(store, warm, senders, now)
    return Result({"tick": format_iso(tick), "evaluated": evaluated, "firing": firing,
                   "pending": pending, "notifications": {"sent": sent, "failed": failed}},
                  collector.source, None)


def evaluate_on_poll(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, now: int,
    rules: RuleSet, senders: Sequence[Sender],
) -> None:
    """A live poll's turn to evaluate the minute (ALERTS_ON_POLL): at most one try per
    minute per instance, and nothing at all when another caller holds the minute. Failures
    are logged, never raised — the poll has been answered already."""
    tick = now - now % EVAL_STEP
    if not hot.add(f"alerts:polled:{tick}", "1", EVAL_STEP):
        return
    try:
        if warm.add(f"alerts:lock:{tick}", "1", EVAL_STEP):
            backends = _Backends(store, collector, hot, warm)
            if _evaluate_tick(backends, tick, rules, senders)[0]:
                deliver(store, warm, senders, now)
    except FleetError as exc:
        logger.warning("alerts: evaluation from a poll failed: %s: %s", type(exc).__name__,
                       exc.public)


def _evaluate_tick(b: _Backends, tick: int, rules: RuleSet, senders: Sequence[Sender]
                   ) -> tuple[bool, EngineState]:
    version, document = b.store.load_alert_state() or (0, {})
    _flush_outbox(b.store, document)
    state = EngineState.from_dict(document)
    if state.last_tick is not None and state.last_tick >= tick:
        return False, state
    result = step(state, tick_input(b, tick), rules)
    channels = [s.name for s in senders]
    outbox = [_outbox_item(n, channel) for n in result.notifications for channel in channels]
    events = [_event(t) for t in result.transitions]
    new = result.state.as_dict()
    new["outbox"] = {"notifications": [_item_json(i) for i in outbox],
                     "events": [_event_json(e) for e in events]}
    if not b.store.save_alert_state(new, version, tick):
        logger.info("alerts: another evaluation wrote the state first; tick %s left to it",
                    format_iso(tick))
        return False, state
    b.store.add_alert_records(outbox, events)
    return True, result.state


def _flush_outbox(store: MetricStore, document: Mapping[str, Any]) -> None:
    """What the last evaluation wrote into its state, copied out (again: idempotent)."""
    carried = document.get("outbox") or {}
    items = [_item_from_json(i) for i in carried.get("notifications", [])]
    events = [_event_from_json(e) for e in carried.get("events", [])]
    if items or events:
        store.add_alert_records(items, events)


def tick_input(b: _Backends, tick: int) -> TickInput:
    """The analysis at the last 10-minute tick (cached), with the live values of ``tick``."""
    base = tick - tick % DEFAULT_STEP
    key = f"alerts:view:{b.collector.mode}:{b.collector.seed or 0}:{base}"
    cached = read_cached([b.hot, b.warm], key)
    if cached is not None:
        view = _view_from_json(cached)
    else:
        view = _analysis_view(b, base)
        write_cached([b.hot, b.warm], key, _view_json(view), VIEW_TTL)
    live = {s.row.server_id: s for s in b.collector.snapshot(None, tick)}
    servers = {}
    for sid, server in view.servers.items():
        snap = live.get(sid)
        values: dict[str, float | None] = dict.fromkeys(server.values)
        if snap is not None and snap.online:
            row = snap.row
            values = {"cpu": row.cpu, "memory": row.memory, "disk": row.disk,
                      "response_time": None if row.response_time is None
                      else float(row.response_time)}
        servers[sid] = ServerTick(sid, server.role, values, server.z, server.z_sigma,
                                  server.episode_z)
    return TickInput(tick, servers, view.incidents)


def _analysis_view(b: _Backends, base: int) -> TickInput:
    roles = {t.id: t.role for t in b.collector.servers()}
    lo = base - ANALYSIS_HISTORY_DAYS * DAY - DEFAULT_LOOKBACK
    rows = _history_rows(b, lo, base, sorted(roles))
    panel = Panel.from_rows(rows, DEFAULT_STEP)
    if not panel.server_ids:
        return TickInput(base, {sid: ServerTick(sid, role, {}) for sid, role in roles.items()},
                         [])
    watcher = Watcher(detect(panel), roles)
    view = watcher.tick(len(panel.timestamps) - 1)
    missing = {sid: ServerTick(sid, role, {}) for sid, role in roles.items()
               if sid not in view.servers}
    return TickInput(view.at, {**view.servers, **missing}, view.incidents)


def _history_rows(b: _Backends, start: int, base: int, server_ids: list[str]
                  ) -> list[MetricRow]:
    """The 10-minute rows of [start, base]. Each day's settled rows (older than an hour) are
    kept packed in the caches — read with one MGET, topped up as they settle — so a rebuild
    reads only the last hour from the store or the collector."""
    end = base + DEFAULT_STEP
    settled = max(0, base - SETTLED)
    settled -= settled % DEFAULT_STEP
    days = list(range(day_start(start), end, DAY))
    keys = [f"alerts:day:{b.collector.mode}:{b.collector.seed or 0}:{day}" for day in days]
    layers = distinct_layers([b.hot, b.warm])
    texts: list[str | None] = list(b.hot.get_many(keys))
    from_warm = [k for k, text in enumerate(texts) if text is None] if len(layers) > 1 else []
    if from_warm:
        for k, text in zip(from_warm, b.warm.get_many([keys[k] for k in from_warm]),
                           strict=True):
            texts[k] = text
    rows: list[MetricRow] = []
    for k, (day, key, text) in enumerate(zip(days, keys, texts, strict=True)):
        held, upto = _unpack_span(key, text, day)
        hi = min(day + DAY, end)
        fresh = analysis_rows(b.store, b.collector, upto, hi, server_ids, base)[0] \
            if upto < hi else []
        span = held + fresh
        keep = min(day + DAY, settled)
        if keep > upto:
            text = f"{keep}:{pack_rows([r for r in span if r.timestamp < keep])}"
            for layer in layers:
                layer.set(key, text, DAY_TTL)
        elif text is not None and k in from_warm:  # copied into this process's memory
            b.hot.set(key, text, DAY_TTL)
        rows.extend(r for r in span if r.timestamp >= start)
    return rows


def _unpack_span(key: str, text: str | None, day: int) -> tuple[list[MetricRow], int]:
    """The rows a cached span holds and where it ends; none, from ``day``, when absent or
    damaged (then read afresh)."""
    if text is None:
        return [], day
    try:
        upto, _, packed = text.partition(":")
        return unpack_rows(packed), int(upto)
    except ValueError as exc:
        logger.warning("alerts: %s: %s; read afresh", key, exc)
        return [], day


def _view_json(view: TickInput) -> dict[str, Any]:
    return {"at": view.at,
            "servers": [[s.server_id, s.role, dict(s.values), dict(s.z), dict(s.z_sigma),
                         s.episode_z] for s in view.servers.values()],
            "incidents": [[i.start, i.origin, i.pattern, list(i.servers), i.active]
                          for i in view.incidents]}


def _view_from_json(data: Mapping[str, Any]) -> TickInput:
    servers = {s[0]: ServerTick(s[0], s[1], s[2], s[3], s[4], s[5]) for s in data["servers"]}
    incidents = [IncidentView(i[0], i[1], i[2], tuple(i[3]), i[4]) for i in data["incidents"]]
    return TickInput(int(data["at"]), servers, incidents)


# --- the outbox ----------------------------------------------------------------------------


def _outbox_item(n: Notification, channel: str) -> OutboxItem:
    return OutboxItem(n.key, channel, n.group_key, n.status, n.at, n.as_dict())


def _item_json(i: OutboxItem) -> dict[str, Any]:
    return {"key": i.key, "channel": i.channel, "group_key": i.group_key,
            "status": i.status, "at": i.at, "payload": i.payload}


def _item_from_json(d: Mapping[str, Any]) -> OutboxItem:
    return OutboxItem(d["key"], d["channel"], d["group_key"], d["status"], int(d["at"]),
                      dict(d["payload"]))


def _event(t: Any) -> AlertEvent:
    labels = dict(t.labels)
    return AlertEvent(t.fingerprint, t.at, t.to_state, t.from_state, labels["server_id"],
                      labels.get("severity", "warning"), labels, t.value, t.group_key)


def _event_json(e: AlertEvent) -> dict[str, Any]:
    return {"fingerprint": e.fingerprint, "at": e.at, "to_state": e.to_state,
            "from_state": e.from_state, "server_id": e.server_id, "severity": e.severity,
            "labels": e.labels, "value": e.value, "group_key": e.group_key}


def _event_from_json(d: Mapping[str, Any]) -> AlertEvent:
    return AlertEvent(d["fingerprint"], int(d["at"]), d["to_state"], d["from_state"],
                      d["server_id"], d["severity"], dict(d["labels"]), d["value"],
                      d["group_key"])


def deliver(store: MetricStore, warm: Cache, senders: Sequence[Sender], now: int
            ) -> tuple[int, int]:
    """Send what no channel has accepted yet; returns (sent, failed)."""
    by_name = {s.name: s for s in senders}
    sent = failed = 0
    blocked: set[tuple[str, str]] = set()   # (group, channel) with an earlier item unsent
    for item in store.pending_notifications(DELIVERY_BATCH, MAX_ATTEMPTS):
        lane = (item.group_key, item.channel)
        sender = by_name.get(item.channel)
        if lane in blocked or sender is None:
            blocked.add(lane)
            continue
        claim = f"alerts:send:{item.key}:{item.channel}"
        if not warm.add(claim, "1", EVAL_STEP):
            blocked.add(lane)  # another instance is sending it right now
            continue
        try:
            sender.send(Notification.from_dict(item.payload))
        except DeliveryError as exc:  # recorded; retried at the next evaluation
            warm.delete(claim)
            logger.warning("alerts: delivery of %s failed: %s", item.key, exc)
            store.record_delivery(item.key, item.channel, None, str(exc)[:500])
            blocked.add(lane)
            failed += 1
            continue
        store.record_delivery(item.key, item.channel, now, None)
        sent += 1
    return sent, failed


# --- reads ---------------------------------------------------------------------------------

STATES = ("pending", "firing", "resolved")
SEVERITIES = ("warning", "critical")


def _state(store: MetricStore) -> tuple[EngineState, int | None]:
    loaded = store.load_alert_state()
    state = EngineState.from_dict(loaded[1] if loaded else {})
    return state, state.last_tick


def list_alerts(
    store: MetricStore, *, state: Sequence[str] | None, server_id: str | None,
    severity: str | None, limit: int, cursor: str | None,
) -> Result:
    """Groups and alerts of the engine's state (firing, pending, resolved in the last hour),
    newest first; the alerts filtered and keyset-paged."""
    states = _choices(state, "state", STATES)
    _check_filters(server_id, severity)
    after = _alert_cursor(cursor)
    engine, last = _state(store)
    alerts = sorted((_alert_json(fp, a) for fp, a in engine.alerts.items()),
                    key=lambda a: (a["starts_at_epoch"], a["fingerprint"]), reverse=True)
    alerts = [a for a in alerts if (not states or a["state"] in states)
              and (server_id is None or a["labels"]["server_id"] == server_id)
              and (severity is None or a["labels"]["severity"] == severity)
              and (after is None or (a["starts_at_epoch"], a["fingerprint"]) < after)]
    page, more = alerts[:limit], len(alerts) > limit
    quiet = _silenced_groups(engine)
    groups = [_group_json(g, g["key"] in quiet) for g in sorted(engine.groups.values(),
                                              key=lambda g: (g["starts_at"], g["key"]),
                                              reverse=True)
              if g["status"] in ("firing", "resolved", "merged") and g.get("notified")
              and (server_id is None or server_id in g["servers_seen"]
                   or server_id == g["origin"])
              and (severity is None or g["severity"] == severity)]
    last_alert = page[-1] if more and page else None
    for alert in page:
        del alert["starts_at_epoch"]
    return Result({
        "evaluated_at": None if last is None else format_iso(last),
        "groups": groups, "alerts": page, "count": len(page),
        "next_cursor": None if last_alert is None
        else f"{format_iso(_epoch(last_alert['starts_at']))}~{last_alert['fingerprint']}",
    }, "store", "live")


def _check_filters(server_id: str | None, severity: str | None) -> None:
    """The server and severity filters of the alert reads."""
    if server_id is not None:
        parse_server_id(server_id, "server_id")
    if severity is not None and severity not in SEVERITIES:
        raise InvalidParameter("severity", f"unknown severity {echo(severity)} "
                               "(warning, critical)")


def _choices(values: Sequence[str] | None, parameter: str, allowed: Sequence[str]
             ) -> set[str]:
    chosen = {v.strip() for value in values or () for v in value.split(",") if v.strip()}
    for value in chosen:
        if value not in allowed:
            raise InvalidParameter(parameter, f"unknown {parameter} {echo(value)} "
                                   f"({', '.join(allowed)})")
    return chosen


_CURSOR = re.compile(ALERT_CURSOR_PATTERN)


def _alert_cursor(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None:
        return None
    if _CURSOR.match(cursor) is None:
        raise InvalidParameter("cursor", "not a cursor this endpoint returned")
    instant, fp = cursor.split("~", 1)
    return parse_instant(instant, "cursor"), fp


def _epoch(text: str) -> int:
    return parse_instant(text, "at")


def _alert_json(fp: str, a: Mapping[str, Any]) -> dict[str, Any]:
    started = a["fired_at"] if a["fired_at"] is not None else a["active_since"]
    return {"fingerprint": fp, "state": a["state"], "labels": dict(a["labels"]),
            "value": a["value"], "threshold": a["threshold"],
            "starts_at": format_iso(started), "starts_at_epoch": started,
            "ends_at": None if a["resolved_at"] is None else format_iso(a["resolved_at"]),
            "group_key": a["group"], "silenced": bool(a["silenced"]),
            "inhibited": bool(a["inhibited"])}


def _silenced_groups(engine: EngineState) -> set[str]:
    """Groups whose firing alerts are all silenced."""
    loud: dict[str, bool] = {}
    for a in engine.alerts.values():
        if a["state"] == "firing" and a["group"]:
            loud[a["group"]] = loud.get(a["group"], False) or not a["silenced"]
    return {key for key, any_loud in loud.items() if not any_loud}


def _group_json(g: Mapping[str, Any], silenced: bool = False) -> dict[str, Any]:
    ack = g.get("ack")
    servers = [g["origin"], *sorted(s for s in g["servers_seen"] if s != g["origin"])]
    return {"group_key": g["key"], "status": g["status"], "origin": g["origin"],
            "pattern": g["pattern"], "severity": g["severity"],
            "servers": list(dict.fromkeys(servers)), "starts_at": format_iso(g["starts_at"]),
            "ends_at": None if g["ends_at"] is None else format_iso(g["ends_at"]),
            "acknowledged": None if not ack else {**ack, "at": format_iso(ack["at"])},
            "silenced": silenced, "merged_into": g.get("merged_into")}


def alert_history(store: MetricStore, *, server_id: str | None, severity: str | None,
                  limit: int, cursor: str | None) -> Result:
    """Every alert state change, newest first, keyset-paged."""
    _check_filters(server_id, severity)
    before = _alert_cursor(cursor)
    events = store.query_alert_history(server_id, severity, limit + 1, before)
    page, more = events[:limit], len(events) > limit
    return Result({
        "data": [{"fingerprint": e.fingerprint, "at": format_iso(e.at), "from": e.from_state,
                  "to": e.to_state, "labels": e.labels, "value": e.value,
                  "group_key": e.group_key} for e in page],
        "count": len(page),
        "next_cursor": f"{format_iso(page[-1].at)}~{page[-1].fingerprint}" if more else None,
    }, "store", "live")


# --- writes: silences and acknowledgement --------------------------------------------------


def _update(store: MetricStore, change: Callable[[EngineState], T]) -> T:
    """Apply ``change`` to the stored state with compare-and-set, retrying a few times."""
    for _ in range(5):
        version, document = store.load_alert_state() or (0, {})
        state = EngineState.from_dict(document)
        out = change(state)
        new = state.as_dict()
        new["outbox"] = document.get("outbox") or {}
        if store.save_alert_state(new, version, state.last_tick):
            return out
    raise StoreUnavailable("the alert state kept changing under this write; try again")


LABEL_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_LABEL = re.compile(LABEL_PATTERN)


def create_silence(store: MetricStore, now: int, *, matchers: Sequence[Mapping[str, Any]],
                   starts_at: str | None, ends_at: str, created_by: str, comment: str
                   ) -> Result:
    """A silence from now (or ``starts_at``) to ``ends_at``; its id is derived from it."""
    parsed = tuple(_matcher(m, i) for i, m in enumerate(matchers))
    if not parsed:
        raise InvalidParameter("matchers", "give at least one matcher")
    start = optional_instant(starts_at, "starts_at")
    start = now if start is None else start
    end = parse_instant(ends_at, "ends_at")
    if end <= max(start, now):
        raise RangeError("ends_at", "must be after starts_at and in the future")
    if end - start > MAX_SILENCE_DAYS * DAY:
        raise RangeError("ends_at", f"a silence lasts at most {MAX_SILENCE_DAYS} days")
    if not created_by.strip() or not comment.strip():
        raise InvalidParameter("created_by" if not created_by.strip() else "comment",
                               "must not be empty")
    ident = fingerprint({"start": str(start), "end": str(end), "by": created_by,
                         "comment": comment, "created": str(now),
                         "matchers": repr([m.as_dict() for m in parsed])})
    silence = Silence(ident, parsed, start, end, created_by.strip()[:100],
                      comment.strip()[:500], now)

    def add(state: EngineState) -> None:
        state.silences = [s for s in state.silences if s.id != ident] + [silence]

    _update(store, add)
    return Result(_silence_json(silence, now), "store", None)


def _matcher(data: Mapping[str, Any], index: int) -> Matcher:
    where = f"matchers[{index}]"
    name, value = data.get("name"), data.get("value")
    if not isinstance(name, str) or not _LABEL.match(name):
        raise InvalidParameter(where, "name must be a label name")
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidParameter(where, "value must be a string of at most 200 characters")
    is_regex, is_equal = data.get("isRegex", False), data.get("isEqual", True)
    if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
        raise InvalidParameter(where, "isRegex and isEqual must be true or false")
    if is_regex:
        try:
            re.compile(value)
        except re.error as exc:
            raise InvalidParameter(where, f"value is not a regular expression: {exc}") from exc
    return Matcher(name, value, is_regex, is_equal)


def _silence_json(s: Silence, now: int) -> dict[str, Any]:
    return {"id": s.id, "matchers": [m.as_dict() for m in s.matchers],
            "starts_at": format_iso(s.starts_at), "ends_at": format_iso(s.ends_at),
            "created_by": s.created_by, "comment": s.comment, "status": s.status(now)}


def list_silences(store: MetricStore, now: int) -> Result:
    state, _ = _state(store)
    return Result({"silences": [_silence_json(s, now) for s in
                                sorted(state.silences, key=lambda s: (-s.starts_at, s.id))]},
                  "store", "live")


def expire_silence(store: MetricStore, now: int, *, silence_id: str) -> Result:
    """End a silence now (it stays listed as expired)."""

    def expire(state: EngineState) -> Silence:
        found = next((s for s in state.silences if s.id == silence_id), None)
        if found is None:
            raise NotFound("id", f"no silence {echo(silence_id)}")
        ended = Silence(found.id, found.matchers, min(found.starts_at, now),
                        min(found.ends_at, now), found.created_by, found.comment,
                        found.created_at)
        state.silences = [ended if s.id == silence_id else s for s in state.silences]
        return ended

    return Result(_silence_json(_update(store, expire), now), "store", None)


def acknowledge(store: MetricStore, now: int, *, group_key: str, by: str,
                comment: str | None) -> Result:
    """Acknowledge a firing group: no repeats until it escalates."""
    if not by.strip():
        raise InvalidParameter("by", "must not be empty")

    def ack(state: EngineState) -> dict[str, Any]:
        group = state.groups.get(group_key)
        if group is None:
            raise NotFound("group_key", f"no alert group {echo(group_key)}")
        if group["status"] != "firing":
            raise RangeError("group_key", f"the group is {group['status']}, not firing")
        group["ack"] = {"by": by.strip()[:100], "at": now,
                        "comment": (comment or "").strip()[:500]}
        return _group_json(group)

    group = _update(store, ack)
    return Result({"group_key": group_key, "acknowledged": group["acknowledged"]}, "store",
                  None)

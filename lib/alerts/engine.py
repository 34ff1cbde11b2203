"""The alert engine: one evaluation per tick, a pure function of (state, what the tick shows).

Per alert fingerprint: inactive → pending (active, ``for`` not yet served) → firing →
resolved, with hysteresis (a firing threshold alert holds until its value drops under
``recover``) and ``keep_firing_for``. Firing alerts are grouped: every alert of a server the
analysis puts in an incident joins that incident's group (one notification naming its
origin and pattern); an alert outside every incident is a group of its own, and is inhibited
while an incident whose origin is upstream of it (db → api → web) fires. A group notifies
when it starts firing (after ``group_wait``), when it escalates (after ``group_interval``),
every ``repeat_interval`` until acknowledged, and the moment it resolves.

``step`` returns the new state, the notifications due and the transitions for the history;
the same inputs always give the same outputs, which is what makes concurrent or retried
evaluations safe (docs/alerts.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .model import Notification, NotificationAlert, Severity, fingerprint
from .rules import AdaptiveRule, AnomalyRule, RuleSet, ThresholdRule
from .silences import Silence, silenced

__all__ = [
    "DOWNSTREAM",
    "EngineState",
    "IncidentView",
    "ServerTick",
    "StepResult",
    "TickInput",
    "Transition",
    "step",
]

# Which roles a failure of each role reaches (inhibition: followers stay quiet).
DOWNSTREAM: dict[str, frozenset[str]] = {
    "db": frozenset({"api", "web", "worker"}),
    "cache": frozenset({"api", "web"}),
    "api": frozenset({"web"}),
    "worker": frozenset(),
    "web": frozenset(),
}
SEVERITY_RANK = {"warning": 1, "critical": 2}
# Seconds a resolved alert or group stays in the state (the history table keeps them for
# good): the state is read at every evaluation, and a day of resolved alerts made it six
# times larger — 72 KB a minute, 3 GB a month of Supabase egress.
RESOLVED_KEPT = 3_600
SILENCE_KEPT = 86_400       # an expired silence stays listed this long
INHIBIT_WINDOW = 2 * 3600   # an incident inhibits standalone followers this long after it starts


@dataclass(frozen=True)
class ServerTick:
    """One server at the evaluated tick. ``values`` are the metrics (None: no data);
    ``z`` the deviation from its robust baseline per metric, ``z_sigma`` from the mean/σ
    one (only when a rule asks for it); ``episode_z`` the largest deviation of the anomaly
    episode the analysis holds it in now (None: not in one)."""

    server_id: str
    role: str
    values: Mapping[str, float | None]
    z: Mapping[str, float] = field(default_factory=dict)
    z_sigma: Mapping[str, float] = field(default_factory=dict)
    episode_z: float | None = None


@dataclass(frozen=True)
class IncidentView:
    """An incident the analysis sees at the tick, from the data up to it."""

    start: int
    origin: str
    pattern: str
    servers: tuple[str, ...]   # in order of onset
    active: bool               # some member is still off its baseline


@dataclass(frozen=True)
class TickInput:
    """What the engine sees at one evaluation. ``step`` is the seconds between evaluations
    (the data's step); 0 takes it from the previous evaluation."""

    at: int
    servers: Mapping[str, ServerTick]
    incidents: Sequence[IncidentView]
    step: int = 0


@dataclass(frozen=True)
class Transition:
    """One alert changing state (the history)."""

    fingerprint: str
    labels: Mapping[str, str]
    from_state: str
    to_state: str
    at: int
    value: float | None
    group_key: str | None


@dataclass
class EngineState:
    """Everything the engine remembers between ticks; JSON-ready through ``as_dict``."""

    last_tick: int | None = None
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    silences: list[Silence] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"last_tick": self.last_tick, "alerts": self.alerts, "groups": self.groups,
                "silences": [s.as_dict() for s in self.silences]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineState:
        return cls(data.get("last_tick"), _clone(dict(data.get("alerts", {}))),
                   _clone(dict(data.get("groups", {}))),
                   [Silence.from_dict(s) for s in data.get("silences", [])])

    def copy(self) -> EngineState:
        """An independent copy (what ``step`` works on: the caller's state is never changed)."""
        return EngineState(self.last_tick, _clone(self.alerts), _clone(self.groups),
                           list(self.silences))


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples, scalars), several times faster
    than ``copy.deepcopy``, which the engine's state is made of."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(v) for v in value] if isinstance(value, list) else \
            tuple(_clone(v) for v in value)
    return value


@dataclass(frozen=True)
class StepResult:
    state: EngineState
    notifications: list[Notification]
    transitions: list[Transition]


# --- conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    active: bool
    severity: Severity
    value: float | None
    threshold: float | None
    z: float | None = None  # how unusual the value is for this server (robust z)


def _check(rule: Any, server: ServerTick, firing: bool) -> _Check | None:
    """Whether ``rule`` holds for ``server`` now (None: the rule does not apply)."""
    if not rule.applies(server.role):
        return None
    if isinstance(rule, ThresholdRule):
        fire = rule.fire_for(server.role)
        if fire is None:
            return None
        level = rule.recover_for(server.role) if firing else fire
        value = server.values.get(rule.metric)
        active = value is not None and level is not None and value >= level
        return _Check(active, rule.severity, value, fire, server.z.get(rule.metric))
    if isinstance(rule, AnomalyRule):
        z = server.episode_z
        severity: Severity = "critical" if z is not None and z >= rule.critical_z \
            else rule.severity
        return _Check(z is not None, severity, z, rule.critical_z, z)
    assert isinstance(rule, AdaptiveRule)
    zs = server.z_sigma if rule.baseline == "sigma" else server.z
    z = zs.get(rule.metric)
    if z is None:
        return _Check(False, "warning", None, rule.warning_z)
    level = rule.recover_at if firing else rule.warning_z
    severity = "critical" if z >= rule.critical_z else "warning"
    return _Check(z >= level, severity, z, rule.warning_z, z)


def _labels(rule: Any, server: ServerTick, severity: str) -> dict[str, str]:
    metric = getattr(rule, "metric", "anomaly")
    return {"alertname": rule.name, "server_id": server.server_id, "role": server.role,
            "metric": metric, "severity": severity, "rule": rule.kind}


# --- the step ------------------------------------------------------------------------------


def step(state: EngineState, tick: TickInput, rules: RuleSet) -> StepResult:
    """Evaluate every rule at ``tick`` and advance the alerts, groups and notifications."""
    new = state.copy()
    transitions: list[Transition] = []
    at = tick.at
    period = tick.step or (at - state.last_tick if state.last_tick is not None
                           and at > state.last_tick else 0)
    for sid in sorted(tick.servers):
        for rule in rules.rules:
            _advance_rule(new, rule, tick.servers[sid], at, period, transitions)
    _expire(new, at)
    _assign_groups(new, tick)
    notifications = _notify(new, tick, rules, period)
    new.last_tick = at
    return StepResult(new, notifications, transitions)


def _served(since: int, at: int, wait: int, period: int) -> bool:
    """Whether a wait of ``wait`` seconds that began at ``since`` is over at the evaluation
    ``at``: at the evaluation nearest to its end (evaluations are ``period`` apart), so a wait
    shorter than half the step costs no extra step and a finer step keeps its exact timing."""
    return at - since >= wait - period / 2


def _advance_rule(state: EngineState, rule: Any, server: ServerTick, at: int, period: int,
                  transitions: list[Transition]) -> None:
    # One fingerprint per rule and server: severity is a label of the notification, not of
    # the alert's identity, so an escalating anomaly stays one alert.
    identity = {"alertname": rule.name, "server_id": server.server_id}
    fp = fingerprint(identity)
    record = state.alerts.get(fp)
    current = record["state"] if record else "inactive"
    check = _check(rule, server, current == "firing")
    if check is None:
        return
    if record is None or current == "resolved":
        if not check.active:
            return
        record = {"labels": _labels(rule, server, check.severity), "state": "inactive",
                  "active_since": at, "fired_at": None, "resolved_at": None,
                  "clear_since": None, "group": None, "value": check.value,
                  "threshold": check.threshold, "severity": check.severity,
                  "silenced": False, "inhibited": False}
        state.alerts[fp] = record
        current = "inactive"
    record["value"], record["threshold"], record["z"] = check.value, check.threshold, check.z
    if check.active:
        if SEVERITY_RANK[check.severity] > SEVERITY_RANK[record["severity"]] \
                or current != "firing":
            record["severity"] = check.severity
            record["labels"] = _labels(rule, server, check.severity)
        record["clear_since"] = None
    target = _next_state(record, current, check.active, rule, at, period)
    if target != current:
        _record_transition(state, fp, record, current, target, at, transitions)


def _next_state(record: dict[str, Any], current: str, active: bool, rule: Any, at: int,
                period: int) -> str:
    if current == "inactive":
        if not active:
            return "inactive"
        return "firing" if _served(at, at, rule.for_, period) else "pending"
    if current == "pending":
        if not active:
            return "inactive"
        return "firing" if _served(record["active_since"], at, rule.for_, period) else "pending"
    # firing
    if active:
        return "firing"
    if record["clear_since"] is None:
        record["clear_since"] = at
    return "resolved" if _served(record["clear_since"], at, rule.keep_firing_for, period) \
        else "firing"


def _record_transition(state: EngineState, fp: str, record: dict[str, Any], current: str,
                       target: str, at: int, transitions: list[Transition]) -> None:
    if target == "pending":
        record["active_since"] = at
    elif target == "firing":
        record["fired_at"] = at
    elif target == "resolved":
        record["resolved_at"] = at
    record["state"] = target
    transitions.append(Transition(fp, dict(record["labels"]), current, target, at,
                                  record["value"], record["group"]))
    if target == "inactive":
        del state.alerts[fp]


def _expire(state: EngineState, at: int) -> None:
    for fp in [f for f, r in state.alerts.items()
               if r["state"] == "resolved" and at - r["resolved_at"] >= RESOLVED_KEPT]:
        del state.alerts[fp]
    for key in [k for k, g in state.groups.items()
                if g["status"] == "resolved" and at - g["ends_at"] >= RESOLVED_KEPT]:
        del state.groups[key]
    state.silences = [s for s in state.silences if s.ends_at > at - SILENCE_KEPT]


# --- grouping ------------------------------------------------------------------------------


def _assign_groups(state: EngineState, tick: TickInput) -> None:
    """Put every firing alert in a group: the active incident its server belongs to, else
    its server's own group. An incident that is no longer active lets its alerts go: one
    still firing (a database whose memory is high every night) is its server's again."""
    incident_of = _incident_groups(state, tick)
    for _, record in sorted(state.alerts.items()):
        record["silenced"] = silenced(state.silences, record["labels"], tick.at)
        if record["state"] != "firing":
            continue
        sid = record["labels"]["server_id"]
        group = state.groups.get(record["group"] or "")
        if sid in incident_of:
            record["group"] = incident_of[sid]
        elif group is None or group["kind"] == "incident" \
                or group["status"] in ("resolved", "merged"):
            record["group"] = _server_group(state, sid, tick.at)
        state.groups[record["group"]]["servers_seen"].setdefault(sid, tick.at)
    _inhibit(state, tick)


def _incident_groups(state: EngineState, tick: TickInput) -> dict[str, str]:
    """server id → group key of each active incident.

    An incident keeps the group it had: the open group that shares a server with it and
    was active when it began (the analysis re-estimates starts, origins and members as data
    comes in), or a server's own group, which the incident adopts (a spike the analysis had
    not yet called an incident: the people notified hear of it once). Each incident keeps
    the one it matches best (``_affinity``); when the analysis merges two incidents, the
    other groups it matches merge into that one. A server in two incidents belongs to the
    one it is the origin of, else to the later one.
    """
    open_groups = {k: g for k, g in sorted(state.groups.items())
                   if g["status"] in ("pending", "firing")}
    for group in state.groups.values():
        if group["kind"] == "incident":
            group["active"] = False
    views = sorted((v for v in tick.incidents if v.active),
                   key=lambda v: (v.start, v.origin, v.servers))
    matches = [[k for k, g in open_groups.items() if _continues(g, v, _members(v))]
               for v in views]
    # one group per incident, the closest first; an incident matching further groups no
    # other incident took merges them (the analysis joined what it had seen apart)
    pairs = sorted(((_affinity(open_groups[k], v), -i, k) for i, v in enumerate(views)
                    for k in matches[i]), reverse=True)
    own: dict[int, str] = {}
    taken: set[str] = set()
    for _, negative, key in pairs:
        if -negative not in own and key not in taken:
            own[-negative] = key
            taken.add(key)
    claims: dict[str, tuple[tuple[int, int], str]] = {}
    for i, view in enumerate(views):
        key = own.get(i) or _open_incident_group(state, view, tick.at)
        for other in matches[i]:
            if other not in taken:
                taken.add(other)
                _absorb(state, open_groups[other], key)
        group = state.groups[key]
        group["kind"], group["active"], group["last_active"] = "incident", True, tick.at
        group["origin"], group["pattern"] = view.origin, view.pattern
        group["incident_servers"] = sorted(view.servers)  # what the analysis says now
        group["starts_at"] = min(group["starts_at"], view.start)
        group["last_seen"] = tick.at
        for sid in _members(view):
            rank = (1 if sid == view.origin else 0, view.start)
            if sid not in claims or rank >= claims[sid][0]:
                claims[sid] = (rank, key)
    return {sid: key for sid, (_, key) in claims.items()}


def _members(view: IncidentView) -> set[str]:
    return {view.origin, *view.servers}


def _affinity(group: Mapping[str, Any], view: IncidentView) -> tuple[bool, bool, int, int]:
    """How surely ``group`` is the one ``view`` had: same origin, notified, most servers
    shared, nearest start."""
    shared = _members(view) & {group["origin"], *group["incident_servers"]}
    return (group["origin"] == view.origin, group["notified"] == "firing", len(shared),
            -abs(group["starts_at"] - view.start))


def _open_incident_group(state: EngineState, view: IncidentView, at: int) -> str:
    # Deterministic (concurrent evaluations agree) and never reused: a group that resolved
    # keeps its key, a new one gets its own.
    key = "inc-" + fingerprint({"start": str(view.start), "first": view.servers[0],
                                "opened": str(at)})
    state.groups[key] = _new_group(key, "incident", view.start, at)
    return key


def _continues(group: Mapping[str, Any], view: IncidentView, seen: set[str]) -> bool:
    """Whether ``view`` is the incident ``group`` was opened for (see _incident_groups)."""
    if group["kind"] == "server":
        return group["origin"] in seen
    shared = seen & {group["origin"], *group["incident_servers"]}
    return bool(shared) and view.start <= group.get("last_active", group["starts_at"])


def _absorb(state: EngineState, group: dict[str, Any], into: str) -> None:
    """``group`` joins ``into``: its alerts move; it resolves with ``into`` if it had
    notified, silently now if it had not."""
    survivor = state.groups[into]
    for sid, since in group["servers_seen"].items():
        survivor["servers_seen"].setdefault(sid, since)
    survivor["incident_servers"] = sorted(set(survivor["incident_servers"])
                                          | set(group["incident_servers"]))
    survivor["starts_at"] = min(survivor["starts_at"], group["starts_at"])
    for record in state.alerts.values():
        if record["group"] == group["key"]:
            record["group"] = into
    group["merged_into"] = into
    if group["notified"] == "firing":
        group["status"] = "merged"
    else:
        group["status"], group["ends_at"] = "resolved", state.last_tick or group["starts_at"]


def _server_group(state: EngineState, sid: str, at: int) -> str:
    """The open group of a server's own alerts (one per server while any fires)."""
    for key, group in sorted(state.groups.items()):
        if group["kind"] == "server" and group["origin"] == sid \
                and group["status"] in ("pending", "firing"):
            return key
    key = "srv-" + fingerprint({"server": sid, "since": str(at)})
    group = _new_group(key, "server", at, at)
    group["origin"], group["pattern"] = sid, "unknown"
    state.groups[key] = group
    return key


def _new_group(key: str, kind: str, start: int, at: int) -> dict[str, Any]:
    return {"key": key, "kind": kind, "status": "pending", "origin": "", "pattern": "unknown",
            "severity": "warning", "starts_at": start, "ends_at": None, "first_firing": None,
            "servers_seen": {}, "incident_servers": [], "seq": 0, "notified": None,
            "notified_at": None, "notified_severity": None, "ack": None, "last_seen": at,
            "active": kind == "incident", "last_active": at}


def _inhibit(state: EngineState, tick: TickInput) -> None:
    """Followers are quiet while their origin fires: the members of an incident other than
    its origin, and standalone alerts downstream of a recent incident's origin."""
    sources = [g for g in state.groups.values() if g["kind"] == "incident"
               and g["status"] != "resolved" and tick.at - g["starts_at"] <= INHIBIT_WINDOW]
    for record in state.alerts.values():
        if record["state"] != "firing":
            record["inhibited"] = False
            continue
        labels, group = record["labels"], state.groups[record["group"]]
        if group["kind"] == "incident":
            record["inhibited"] = labels["server_id"] != group["origin"]
        else:
            record["inhibited"] = any(
                labels["role"] in DOWNSTREAM.get(_role_of(tick, g["origin"]), frozenset())
                for g in sources)


def _role_of(tick: TickInput, server_id: str) -> str:
    server = tick.servers.get(server_id)
    return server.role if server is not None else ""


# --- notifications -------------------------------------------------------------------------


def _notify(state: EngineState, tick: TickInput, rules: RuleSet, period: int
            ) -> list[Notification]:
    routing, at = rules.settings, tick.at
    members: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for fp, record in sorted(state.alerts.items()):
        if record["group"] is not None and record["state"] in ("firing", "resolved"):
            members.setdefault(record["group"], []).append((fp, record))
    out = []
    for key, group in sorted(state.groups.items()):
        if group["status"] in ("merged", "resolved"):
            continue  # a merged group resolves with the group it joined, below
        mine = members.get(key, [])
        firing = [(fp, r) for fp, r in mine if r["state"] == "firing"]
        notice = _group_notice(group, firing, at, routing, period)
        if notice is not None:
            out.append(_notification(group, notice, firing or mine, at))
        if group["status"] == "resolved":
            for merged in sorted(k for k, g in state.groups.items()
                                 if g["status"] == "merged" and g.get("merged_into") == key):
                state.groups[merged]["status"] = "resolved"
                state.groups[merged]["ends_at"] = at
                out.append(_notification(state.groups[merged], "resolved", [], at))
    return out


def _group_notice(group: dict[str, Any], firing: list[tuple[str, dict[str, Any]]], at: int,
                  routing: Any, period: int
                  ) -> Literal["new", "escalated", "repeat", "resolved"] | None:
    loud = [r for _, r in firing if not r["silenced"]]
    if not firing:
        group["status"], group["ends_at"] = "resolved", at
        return "resolved" if group["notified"] == "firing" else None
    severity = max((r["severity"] for _, r in firing), key=SEVERITY_RANK.__getitem__)
    group["severity"], group["status"] = severity, "firing"
    if group["first_firing"] is None:
        group["first_firing"] = at
    eligible = group["kind"] == "incident" or any(
        r["severity"] in routing.standalone_severities
        and (r.get("z") or 0.0) >= routing.standalone_min_z
        and _served(r["fired_at"], at, routing.standalone_for, period) for r in loud)
    inhibited = group["kind"] == "server" and all(r["inhibited"] for _, r in firing)
    if not loud or not eligible or inhibited:
        return None
    if group["notified"] != "firing":
        return "new" if _served(group["first_firing"], at, routing.group_wait, period) \
            else None
    changed = SEVERITY_RANK[severity] > SEVERITY_RANK[group["notified_severity"]]
    if changed and _served(group["notified_at"], at, routing.group_interval, period):
        group["ack"] = None
        return "escalated"
    if group["ack"] is None and _served(group["notified_at"], at, routing.repeat_interval,
                                        period):
        return "repeat"
    return None


def _notification(group: dict[str, Any], reason: str, alerts: list[tuple[str, dict[str, Any]]],
                  at: int) -> Notification:
    group["seq"] += 1
    status: Literal["firing", "resolved"] = "resolved" if reason == "resolved" else "firing"
    group["notified"], group["notified_at"] = status, at
    group["notified_severity"] = group["severity"]
    servers = [group["origin"], *sorted(s for s in group["servers_seen"]
                                        if s != group["origin"])]
    listed = tuple(NotificationAlert(
        fp, "resolved" if status == "resolved" or r["state"] == "resolved" else "firing",
        dict(r["labels"]), {"summary": _alert_summary(r)}, r["fired_at"] or at,
        (r["resolved_at"] or at) if status == "resolved" or r["state"] == "resolved" else None,
        r["value"]) for fp, r in alerts)
    return Notification(
        group_key=group["key"], seq=group["seq"], status=status,
        reason=reason,  # type: ignore[arg-type]
        at=at, origin=group["origin"], pattern=group["pattern"], severity=group["severity"],
        servers=tuple(dict.fromkeys(servers)), starts_at=group["starts_at"],
        ends_at=at if status == "resolved" else None,
        summary=_summary(group, status, servers), alerts=listed)


def _summary(group: dict[str, Any], status: str, servers: list[str]) -> str:
    what = group["pattern"].replace("_", " ") if group["pattern"] != "unknown" else "anomaly"
    word = "RESOLVED" if status == "resolved" else group["severity"].upper()
    others = f" and {len(servers) - 1} more" if len(servers) > 1 else ""
    return f"[{word}] {what} on {group['origin']}{others}"


def _alert_summary(record: Mapping[str, Any]) -> str:
    labels, value = record["labels"], record["value"]
    shown = "" if value is None else f" at {value:.4g}"
    return f"{labels['alertname']} on {labels['server_id']}{shown}"

"""The alerting scorecard: notifications against the ground truth (docs/alerts.md, "Scoring").

Each notified group spans [its first firing notification, its resolved notification or the
window's end]. A ground-truth incident **gets a notification** when a group overlaps it (one
tick of tolerance) and shares a server with it. Each group counts for the one incident it
fits best (most shared servers, then nearest start); the rest are **unmatched**.

* notifications per incident: firing notifications (new, escalated, repeat) of the groups
  counted for incidents ÷ incidents notified;
* reduction: raw per-server threshold alerts (each time a threshold rule's alert starts
  firing: what one notification per alerting series sends) ÷ all our firing notifications;
* resolved delay: the last resolved notification of an incident's groups − its true end,
  in ticks (median and share within one tick);
* flaps: a group starting within 30 minutes of a resolved group sharing a server, per
  incident;
* quiet server-days: unmatched firing notifications per server-day with no incident on that
  server (by its origin);
* origin: for cascade_failure and db_lock, the share whose first notification names the
  true origin — the first of its groups that began at or after its start (one tick of
  tolerance); a group open since before, another incident's sharing a server, counts only
  when there is no other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lib.core import DAY, Incident

from .engine import Transition
from .model import Notification

__all__ = ["AlertScore", "FLAP_WINDOW", "score_alerts"]

FLAP_WINDOW = 30 * 60


@dataclass
class _Group:
    key: str
    first: int
    resolved: int | None
    origin: str
    servers: set[str]
    firing: int = 0


@dataclass(frozen=True)
class AlertScore:
    incidents: int
    notified: int
    notifications: int             # all firing notifications
    per_incident: float
    raw_threshold_alerts: int
    reduction: float
    resolved_delay_median: float   # ticks
    resolved_within_one_tick: float
    flaps_per_incident: float
    quiet_server_days: int
    quiet_notifications: int
    origin_named: dict[str, float] = field(default_factory=dict)   # pattern → share
    origin_counts: dict[str, int] = field(default_factory=dict)

    @property
    def notified_share(self) -> float:
        return self.notified / self.incidents if self.incidents else 1.0

    @property
    def quiet_rate(self) -> float:
        return self.quiet_notifications / self.quiet_server_days if self.quiet_server_days \
            else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"incidents": self.incidents, "notified": self.notified,
                "notified_share": round(self.notified_share, 4),
                "notifications": self.notifications,
                "per_incident": round(self.per_incident, 3),
                "raw_threshold_alerts": self.raw_threshold_alerts,
                "reduction": round(self.reduction, 2),
                "resolved_delay_median_ticks": round(self.resolved_delay_median, 2),
                "resolved_within_one_tick": round(self.resolved_within_one_tick, 4),
                "flaps_per_incident": round(self.flaps_per_incident, 4),
                "quiet_server_days": self.quiet_server_days,
                "quiet_notifications": self.quiet_notifications,
                "quiet_rate": round(self.quiet_rate, 4),
                "origin_named": {k: round(v, 4) for k, v in self.origin_named.items()},
                "origin_counts": self.origin_counts}


def _groups(notifications: Sequence[Notification]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for n in sorted(notifications, key=lambda n: (n.at, n.group_key, n.seq)):
        g = groups.get(n.group_key)
        if n.status == "firing":
            if g is None:
                g = groups[n.group_key] = _Group(n.group_key, n.at, None, n.origin, set())
            g.firing += 1
            g.servers |= set(n.servers)
        elif g is not None:
            g.resolved = n.at
            g.servers |= set(n.servers)
    return list(groups.values())


def _fits(g: _Group, t: Incident, step: int, end: int) -> bool:
    servers = {a.server_id for a in t.affected}
    until = g.resolved if g.resolved is not None else end
    return g.first < t.end + step and until > t.start - step and bool(servers & g.servers)


def score_alerts(
    notifications: Sequence[Notification], transitions: Sequence[Transition],
    truths: Sequence[Incident], window: tuple[int, int], step: int,
    server_ids: Sequence[str],
) -> AlertScore:
    """The scorecard of a replay over ``window`` (incidents starting inside it count)."""
    start, end = window
    inside = [t for t in truths if start <= t.start < end]
    groups = _groups(notifications)
    owner: dict[str, int] = {}
    for g in groups:
        fits = [i for i, t in enumerate(inside) if _fits(g, t, step, end)]
        if fits:
            owner[g.key] = min(fits, key=lambda i: (
                -len(g.servers & {a.server_id for a in inside[i].affected}),
                abs(g.first - inside[i].start)))
    mine: dict[int, list[_Group]] = {}
    for g in groups:
        if g.key in owner:
            mine.setdefault(owner[g.key], []).append(g)
    notified = {i for i, t in enumerate(inside) if any(_fits(g, t, step, end) for g in groups)}
    firing_total = sum(g.firing for g in groups)
    counted = sum(g.firing for g in groups if g.key in owner)
    raw = sum(1 for tr in transitions
              if tr.to_state == "firing" and tr.labels.get("rule") == "threshold")
    delays = [((max(g.resolved or end for g in mine[i]) - inside[i].end) / step)
              for i in mine]
    flaps = sum(1 for a in groups for b in groups
                if a.resolved is not None and 0 < b.first - a.resolved <= FLAP_WINDOW
                and a.servers & b.servers)
    quiet_days, quiet_hits = _quiet(groups, owner, truths, start, end, server_ids)
    named, counts = _origins(inside, mine, step)
    return AlertScore(
        incidents=len(inside), notified=len(notified), notifications=firing_total,
        per_incident=counted / len(notified) if notified else 0.0,
        raw_threshold_alerts=raw, reduction=raw / firing_total if firing_total else 0.0,
        resolved_delay_median=float(np.median(delays)) if delays else 0.0,
        resolved_within_one_tick=float(np.mean([d <= 1 for d in delays])) if delays else 1.0,
        flaps_per_incident=flaps / len(inside) if inside else 0.0,
        quiet_server_days=quiet_days, quiet_notifications=quiet_hits,
        origin_named=named, origin_counts=counts)


def _quiet(groups: Sequence[_Group], owner: dict[str, int], truths: Sequence[Incident],
           start: int, end: int, server_ids: Sequence[str]) -> tuple[int, int]:
    """(server-days with no incident on the server, unmatched notifications on them)."""
    busy: set[tuple[str, int]] = set()
    for t in truths:
        for a in t.affected:
            for day in range(t.start - t.start % DAY, t.end, DAY):
                busy.add((a.server_id, day))
    days = range(start - start % DAY, end, DAY)
    quiet = {(s, d) for s in server_ids for d in days if (s, d) not in busy}
    hits = sum(1 for g in groups if g.key not in owner
               and (g.origin, g.first - g.first % DAY) in quiet)
    return len(quiet), hits


def _first_for(groups: Sequence[_Group], truth: Incident, step: int) -> _Group:
    """The first group notified for ``truth``: the earliest that began once it had (a tick
    of tolerance); a group already open before — another incident's, sharing a server — is
    not its notification unless there is no other."""
    since = [g for g in groups if g.first >= truth.start - step]
    return min(since or groups, key=lambda g: g.first)


def _origins(inside: Sequence[Incident], mine: dict[int, list[_Group]], step: int
             ) -> tuple[dict[str, float], dict[str, int]]:
    named: dict[str, float] = {}
    counts: dict[str, int] = {}
    for pattern in ("cascade_failure", "db_lock"):
        rows = [i for i, t in enumerate(inside) if t.pattern == pattern]
        hits = [bool(mine.get(i)) and _first_for(mine[i], inside[i], step).origin
                == inside[i].origin for i in rows]
        named[pattern] = float(np.mean(hits)) if hits else 1.0
        counts[pattern] = len(rows)
    return named, counts

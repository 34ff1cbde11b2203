"""Episodes of many servers assembled into incidents: one cascade is one incident, not ten.

Failures spread in two ways (SPEC §6), and an episode joins an open incident only when the
incident with it still reads as one of them (docs/analysis.md, "Incidents"):

* **cascade** — saturation on every member (at least two of CPU, memory, connections per
  unit of traffic and falling throughput; no disk); the members share one role, or a db came
  first and api/web/db servers followed; all within ``cascade_lag`` of the first onset;
* **db lock** — exactly one db whose latency or connections rose (memory and disk did not),
  and api/web servers whose latency or connections rose (the same) within ``lock_lag`` of it;
* **waiting** — api/web servers waiting like that at once while their db has
  no episode of its own (it was already anomalous for another reason): one incident whose
  origin the root-cause ranking looks for upstream.

Onsets are estimates, so every bound has ``tolerance`` of slack. Anything else — a leak, a
spike, a full disk — stays an incident of its own, even when it starts beside another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .episodes import Episode

__all__ = ["GroupingConfig", "Group", "early_channels", "group_episodes", "spread_kind"]

_FRONT = frozenset({"api", "web"})
_LOCK_WAIT = frozenset({"latency", "conn"})
_NOT_WAITING = frozenset({"memory", "disk"})
_SATURATION = frozenset({"cpu", "memory", "conn", "net"})


@dataclass(frozen=True)
class GroupingConfig:
    """How episodes merge (seconds)."""

    cascade_lag: int = 30 * 60
    lock_lag: int = 15 * 60
    tolerance: int = 10 * 60
    early: int = 30 * 60


@dataclass
class Group:
    """Episodes that make one incident, in order of onset."""

    members: list[Episode] = field(default_factory=list)
    kind: str = "single"

    @property
    def start(self) -> int:
        return self.members[0].onset

    @property
    def end(self) -> int:
        return max(m.end for m in self.members)

    @property
    def servers(self) -> set[str]:
        return {m.server_id for m in self.members}


def early_channels(episode: Episode, early: int) -> frozenset[str]:
    """Channels whose own run began within ``early`` seconds of the episode's onset."""
    return frozenset(n for n, s in episode.signs.items() if s.onset <= episode.onset + early)


def _is_cascade(
    members: Sequence[Episode], roles: Mapping[str, str], config: GroupingConfig
) -> bool:
    for m in members:
        sign = early_channels(m, config.early)
        if len(sign & _SATURATION) < 2 or "disk" in sign:
            return False
    first = min(m.onset for m in members)
    if any(m.onset > first + config.cascade_lag + config.tolerance for m in members):
        return False
    kinds = {roles.get(m.server_id, "") for m in members}
    if len(kinds) == 1:
        return True
    leaders = [m for m in members if m.onset <= first + config.tolerance]
    return kinds <= _FRONT | {"db"} and any(roles.get(m.server_id) == "db" for m in leaders)


def _is_lock(members: Sequence[Episode], roles: Mapping[str, str], config: GroupingConfig) -> bool:
    dbs = [m for m in members if roles.get(m.server_id) == "db"]
    if len(dbs) != 1:
        return False
    db = dbs[0]
    sign = early_channels(db, config.early)
    if not sign & _LOCK_WAIT or sign & _NOT_WAITING:
        return False
    for m in members:
        if m is db:
            continue
        sign = early_channels(m, config.early)
        if roles.get(m.server_id) not in _FRONT or not sign & _LOCK_WAIT or sign & _NOT_WAITING:
            return False
        latest = db.onset + config.lock_lag + config.tolerance
        if not db.onset - config.tolerance <= m.onset <= latest:
            return False
    return True


def _is_waiting(
    members: Sequence[Episode], roles: Mapping[str, str], config: GroupingConfig
) -> bool:
    """api/web servers all waiting at once (latency, connections), their upstream unseen."""
    first = min(m.onset for m in members)
    for m in members:
        sign = early_channels(m, config.early)
        if roles.get(m.server_id) not in _FRONT or not sign & _LOCK_WAIT or sign & _NOT_WAITING:
            return False
        if m.onset > first + config.lock_lag + config.tolerance:
            return False
    return True


def spread_kind(
    members: Sequence[Episode], roles: Mapping[str, str], config: GroupingConfig | None = None
) -> str:
    """How the members hang together: "single", "db_lock", "cascade", "waiting" (api/web
    servers waiting on something upstream that has no episode of its own), or "" (nothing
    explains them together)."""
    config = config or GroupingConfig()
    if len(members) == 1:
        return "single"
    if _is_lock(members, roles, config):
        return "db_lock"
    if _is_cascade(members, roles, config):
        return "cascade"
    if _is_waiting(members, roles, config):
        return "waiting"
    return ""


def group_episodes(
    episodes: Sequence[Episode], roles: Mapping[str, str], config: GroupingConfig | None = None
) -> list[Group]:
    """Assemble episodes in onset order.

    An episode joins every open group it fits, merging them when it bridges them (a db lock's
    api servers may be seen a moment before their db), else the earliest; else it opens a
    group of its own.
    """
    config = config or GroupingConfig()
    horizon = config.cascade_lag + config.tolerance
    groups: list[Group] = []
    for episode in sorted(episodes, key=lambda e: (e.onset, e.server_id)):
        recent = [g for g in groups[-64:] if episode.onset - g.start <= horizon]
        fits = [g for g in recent if episode.server_id not in g.servers
                and spread_kind([*g.members, episode], roles, config)]
        if not fits:
            groups.append(Group([episode]))
            continue
        merged = [m for g in fits for m in g.members] + [episode]
        keep = fits if spread_kind(merged, roles, config) and _distinct(merged) else fits[:1]
        target = keep[0]
        target.members = sorted([m for g in keep for m in g.members] + [episode],
                                key=lambda e: (e.onset, e.server_id))
        target.kind = spread_kind(target.members, roles, config)
        for g in keep[1:]:
            groups.remove(g)
    return groups


def _distinct(members: Sequence[Episode]) -> bool:
    return len({m.server_id for m in members}) == len(members)

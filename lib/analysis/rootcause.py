"""Root cause: rank the servers of an incident by how likely each is where it began.

Each member gets a logit from three pieces of evidence (docs/analysis.md, "Root cause"):

* **lead** — when its deviation first reached half of its own peak, interpolated between
  ticks, relative to the earliest member: −lead / ``tau`` (causes move before effects);
* **strength** — log of its peak deviation relative to the strongest member (a follower
  suffers a weakened copy of its cause);
* **topology** — a prior along db → api → web: the server a request waits on ranks above the
  ones that wait.

Scores are the softmax of the logits. Servers outside the incident follow with small scores
by their own peak deviation in the window, so there are always as many candidates as
servers. ``rank_at`` does the same around an onset given from outside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .detect import Detection
from .episodes import Episode
from .incidents import Group
from .panel import CHANNELS, FloatArray

__all__ = [
    "Candidate",
    "RootCauseConfig",
    "deviation",
    "members_for_ranking",
    "rank",
    "rank_at",
    "upstream",
]

TOPOLOGY_PRIOR: dict[str, float] = {"db": 1.0, "cache": 0.5, "api": 0.5, "worker": 0.5, "web": 0.0}


@dataclass(frozen=True)
class RootCauseConfig:
    """Weights of the evidence (seconds for times)."""

    tau: float = 300.0
    strength: float = 1.0
    topology: float = 3.0
    horizon: int = 3600        # window after the onset for outsiders' deviation
    rise: int = 1800           # window after a member's onset for its rise and height
    z_cap: float = 12.0        # one channel's most weight in the deviation curve
    outsider_scale: float = 0.01
    lock_bonus: float = 10.0
    tolerance: int = 600       # how long after a waiting group's start its db may have begun
    jump_before: int = 2400
    jump_after: int = 1200
    jump_min: float = 3.0
    second_bonus: float = 5.0  # a member with an anomaly the spread does not explain,
    second_gap: float = 0.5    # but never above the most likely origin
    upstream_listed: int = 2   # dbs listed right after the first candidate of waiting servers


@dataclass(frozen=True)
class Candidate:
    """A possible origin with its score and the evidence behind it."""

    server_id: str
    score: float
    evidence: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        return {"server_id": self.server_id, "score": round(self.score, 4), **self.evidence}


def deviation(detection: Detection, col: int, lo: int, hi: int, z_cap: float) -> FloatArray:
    """A server's deviation curve over ticks [lo, hi): the sum of its capped positive z."""
    z = detection.baseline.z[:, lo:hi, col]
    out: FloatArray = np.nansum(np.clip(z, 0.0, z_cap), axis=0)
    return out


def _half_rise(
    detection: Detection, episode: Episode, config: RootCauseConfig
) -> tuple[float, float]:
    """(when the member's anomaly reached half its height, its height) near the onset.

    Each channel of its signature is scaled by its own peak in the ``rise`` seconds after
    the onset; the member's rise is their mean, and the crossing of one half is interpolated
    between ticks, so causes that lead by less than a tick still come first. The height is
    the sum of the capped channel peaks.
    """
    step = detection.panel.step
    names = [n for n in CHANNELS if n in episode.signs] or list(CHANNELS)
    idx = [CHANNELS.index(n) for n in names]
    lo = max(0, episode.first - 2)
    hi = min(len(detection.panel.timestamps), episode.first + config.rise // step + 1)
    z = np.clip(np.nan_to_num(detection.baseline.z[idx, lo:hi, episode.column]), 0.0, None)
    peaks = z.max(axis=1, initial=0.0)
    height = float(np.minimum(peaks, config.z_cap).sum())
    if height <= 0 or z.shape[1] == 0:
        return float(episode.onset), 0.0
    curve = (z / np.maximum(peaks, 1e-9)[:, None]).mean(axis=0)
    i = int(np.argmax(curve >= 0.5))
    t = float(detection.panel.timestamps[lo + i])
    if i > 0 and curve[i] > curve[i - 1]:
        t -= step * (curve[i] - 0.5) / (curve[i] - curve[i - 1])
    return t, height


def upstream(
    detection: Detection,
    members: Sequence[Episode],
    episodes: Sequence[Episode],
    roles: Mapping[str, str],
    config: RootCauseConfig | None = None,
) -> list[Episode]:
    """The db that waiting api/web ``members`` most likely wait on, as a stand-in episode.

    A db whose episode began shortly before the members (within ``jump_before``) is taken
    as it is — the latest such. Otherwise a db that was already anomalous for another reason
    (a full disk) when a lock began has no episode of its own for the lock: among the dbs with
    an episode under way, the one whose deviation jumped most when the members began (capped
    z summed over its channels, the ``jump_after`` seconds after the start against the
    ``jump_before`` seconds before) stands in, its episode moved to that start; none when no
    jump reaches ``jump_min``.
    """
    config = config or RootCauseConfig()
    first = min(m.first for m in members)
    start = detection.panel.timestamps[first]
    inside = {m.server_id for m in members}
    step = detection.panel.step
    best, best_jump = None, config.jump_min
    active = [e for e in episodes
              if roles.get(e.server_id) == "db" and e.server_id not in inside
              and e.onset <= start + config.tolerance and e.end >= start]
    fresh = [e for e in active if e.onset >= start - config.jump_before]
    if fresh:
        return [max(fresh, key=lambda e: (e.onset, e.server_id))]
    for e in active:
        before = deviation(detection, e.column, max(0, first - config.jump_before // step),
                           first, config.z_cap)
        after = deviation(detection, e.column, first, first + config.jump_after // step + 1,
                          config.z_cap)
        jump = float(np.mean(after) - (np.mean(before) if len(before) else 0.0))
        if jump > best_jump:
            best, best_jump = e, jump
    if best is None:
        return []
    return [replace(best, first=first, onset=int(start))]


def rank(
    detection: Detection,
    members: Sequence[Episode],
    roles: Mapping[str, str],
    config: RootCauseConfig | None = None,
    kind: str = "",
) -> list[Candidate]:
    """Every server of the panel ranked as the origin of the incident ``members`` make.

    In a db lock (``kind`` from the grouping) the db is the one the others wait on: it gets
    ``lock_bonus`` on top of its topology prior.
    """
    config = config or RootCauseConfig()
    rises = [_half_rise(detection, m, config) for m in members]
    first = min(t for t, _ in rises)
    strongest = max(max(p for _, p in rises), 1e-9)
    logits, evidence = [], []
    for m, (t, peak) in zip(members, rises, strict=True):
        role = roles.get(m.server_id, "")
        lead = t - first
        logit = (-lead / config.tau + config.strength * np.log(max(peak, 1e-9) / strongest)
                 + config.topology * TOPOLOGY_PRIOR.get(role, 0.0))
        if kind in ("db_lock", "waiting") and role == "db":
            logit += config.lock_bonus
        logits.append(logit)
        evidence.append({"role": role, "lag_s": round(float(lead), 1), "peak": round(peak, 2),
                         "onset": m.onset, "metrics": _metrics(m)})
    # members with a second anomaly of their own come next after the most likely origin
    top = max(logits)
    logits = [min(x + config.second_bonus, top - config.second_gap)
              if x < top and _unexplained(m, kind) else x
              for m, x in zip(members, logits, strict=True)]
    weights = np.exp(np.array(logits) - max(logits))
    weights /= weights.sum()
    ranked = [Candidate(m.server_id, float(w), e)
              for m, w, e in zip(members, weights, evidence, strict=True)]
    ranked.sort(key=lambda c: -c.score)
    outsiders = _outsiders(detection, members, roles, config)
    if kind == "waiting" or (len(members) == 1 and _waits(members[0], roles)):
        # what they wait on: the dbs whose deviation jumped most when they began, next
        dbs = _jumps(detection, members, [c for c in outsiders if c.evidence["role"] == "db"],
                     config)[:config.upstream_listed]
        outsiders = dbs + [c for c in outsiders if c not in dbs]
        ranked = ranked[:1] + _listed(dbs, ranked[1:]) + ranked[1:]
        outsiders = outsiders[len(dbs):]
    elif kind == "cascade":
        # its origin may have been anomalous already (no fresh episode): whoever jumped
        jumped = _jumps(detection, members, outsiders, config)[:1]
        ranked = ranked[:1] + _listed(jumped, ranked[1:]) + ranked[1:]
        outsiders = [c for c in outsiders if c not in jumped]
    return ranked + outsiders


def _listed(inserted: Sequence[Candidate], after: Sequence[Candidate]) -> list[Candidate]:
    """Outsiders moved up the list, scored at least as the candidate they precede."""
    floor = after[0].score if after else 0.0
    return [replace(c, score=max(c.score, floor)) for c in inserted]


_SPREAD_SIGNS = {
    # what a follower shows when the incident spread to it; anything else is a second anomaly
    "db_lock": frozenset({"latency", "conn"}),
    "waiting": frozenset({"latency", "conn"}),
    "cascade": frozenset({"cpu", "memory", "latency", "conn", "net"}),
}


def _unexplained(episode: Episode, kind: str) -> bool:
    """Whether a member shows channels the incident's spread does not produce (a server
    waiting on a locked db gains no memory or disk, a saturated one no disk): a second
    anomaly of its own, which could be what the incident is about."""
    allowed = _SPREAD_SIGNS.get(kind)
    return allowed is not None and not episode.channels <= allowed


def _waits(episode: Episode, roles: Mapping[str, str]) -> bool:
    """An api/web server whose connections per traffic rose with nothing else but latency."""
    return (roles.get(episode.server_id) in ("api", "web") and "conn" in episode.signs
            and episode.channels <= _SPREAD_SIGNS["waiting"])


def _jumps(
    detection: Detection,
    members: Sequence[Episode],
    outsiders: Sequence[Candidate],
    config: RootCauseConfig,
) -> list[Candidate]:
    """``outsiders`` whose deviation jumped by ``jump_min`` when the members began, most
    first (capped z summed over channels, ``jump_after`` after against ``jump_before``)."""
    step = detection.panel.step
    first = min(m.first for m in members)
    cols = {sid: i for i, sid in enumerate(detection.panel.server_ids)}
    scored = []
    for c in outsiders:
        col = cols[c.server_id]
        before = deviation(detection, col, max(0, first - config.jump_before // step), first,
                           config.z_cap)
        after = deviation(detection, col, first, first + config.jump_after // step + 1,
                          config.z_cap)
        jump = float(np.mean(after) - (np.mean(before) if len(before) else 0.0))
        if jump >= config.jump_min:
            scored.append((jump, c))
    scored.sort(key=lambda x: (-x[0], x[1].server_id))
    return [c for _, c in scored]


def _metrics(episode: Episode) -> list[dict[str, object]]:
    return [
        {"metric": name, "z": round(s.peak_z, 2), "delta": round(s.peak_delta, 3),
         "baseline": round(s.baseline, 3)}
        for name, s in sorted(episode.signs.items(), key=lambda kv: kv[1].onset)
    ]


def _outsiders(
    detection: Detection,
    members: Sequence[Episode],
    roles: Mapping[str, str],
    config: RootCauseConfig,
) -> list[Candidate]:
    """Servers outside the incident, by their peak deviation over its first hour."""
    inside = {m.server_id for m in members}
    lo = min(m.first for m in members)
    hi = min(len(detection.panel.timestamps), lo + config.horizon // detection.panel.step + 1)
    out = []
    for col, sid in enumerate(detection.panel.server_ids):
        if sid in inside:
            continue
        peak = float(deviation(detection, col, lo, hi, config.z_cap).max(initial=0.0))
        out.append(Candidate(sid, config.outsider_scale * peak / (1.0 + peak),
                             {"role": roles.get(sid, ""), "peak": round(peak, 2)}))
    out.sort(key=lambda c: (-c.score, c.server_id))
    return out


def rank_at(
    detection: Detection,
    onset: int,
    roles: Mapping[str, str],
    groups: Sequence[Group],
    episodes: Sequence[Episode],
    config: RootCauseConfig | None = None,
    around: tuple[int, int] = (2700, 7200),
) -> list[Candidate]:
    """Rank origins for an incident said (from outside) to begin at ``onset``.

    The incident explained is the detected one that starts nearest ``onset`` within
    [onset − around[0], onset + around[1]]; a start after ``onset`` counts half its distance,
    since a slow incident is detected some time after it truly began. With none, every
    server is ranked by its deviation after ``onset``.
    """
    config = config or RootCauseConfig()
    near = [g for g in groups if onset - around[0] <= g.start <= onset + around[1]]
    if not near:
        return _outsiders_at(detection, onset, roles, config)

    def distance(g: Group) -> float:
        gap = g.start - onset
        return 0.5 * gap if gap >= 0 else float(-gap)

    group = min(near, key=lambda g: (distance(g), -len(g.members)))
    members = members_for_ranking(detection, group, episodes, roles, config)
    return rank(detection, members, roles, config, group.kind)


def members_for_ranking(
    detection: Detection,
    group: Group,
    episodes: Sequence[Episode],
    roles: Mapping[str, str],
    config: RootCauseConfig | None = None,
) -> list[Episode]:
    """The group's members, plus the db they wait on when the group is "waiting"."""
    if group.kind != "waiting":
        return list(group.members)
    return [*group.members, *upstream(detection, group.members, episodes, roles, config)]


def _first_per_server(episodes: Sequence[Episode]) -> list[Episode]:
    seen: dict[str, Episode] = {}
    for e in sorted(episodes, key=lambda e: e.onset):
        seen.setdefault(e.server_id, e)
    return list(seen.values())


def _outsiders_at(
    detection: Detection, onset: int, roles: Mapping[str, str], config: RootCauseConfig
) -> list[Candidate]:
    lo = int(np.searchsorted(detection.panel.timestamps, onset))
    hi = min(len(detection.panel.timestamps), lo + config.horizon // detection.panel.step + 1)
    out = []
    for col, sid in enumerate(detection.panel.server_ids):
        peak = float(deviation(detection, col, lo, hi, config.z_cap).max(initial=0.0))
        out.append(Candidate(sid, peak / (1.0 + peak), {"role": roles.get(sid, ""),
                                                         "peak": round(peak, 2)}))
    out.sort(key=lambda c: (-c.score, c.server_id))
    return out

"""The alerting records: alerts by fingerprint, the notifications a group sends.

An **alert** is one rule on one server (its labels: ``alertname``, ``server_id``, ``role``,
``metric``, ``severity``, ``rule``); its **fingerprint** is a stable hash of its sorted
labels. Alerts that belong to one incident make a **group**; a group sends a
**notification** when it starts firing (``firing``), when it escalates, on repeats, and when
it resolves (``resolved``). docs/alerts.md describes the whole engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "AlertState",
    "NotificationAlert",
    "Notification",
    "Severity",
    "fingerprint",
]

AlertState = Literal["inactive", "pending", "firing", "resolved"]
Severity = Literal["warning", "critical"]


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits of SHA-256 over the sorted ``name=value`` pairs: stable across
    processes and versions (never Python's ``hash``)."""
    text = "\x1f".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class NotificationAlert:
    """One alert as a notification lists it (Alertmanager's ``alerts[]``)."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: int                 # epoch seconds
    ends_at: int | None            # None while firing
    value: float | None = None     # the value that fired the rule, in the metric's unit


@dataclass(frozen=True)
class Notification:
    """What one group says at one moment, to every channel.

    ``key`` identifies this notification for deduplication: the same group state always
    produces the same key (``{group_key}:{seq}``), so a retried or concurrent evaluation can
    never send it twice.
    """

    group_key: str
    seq: int                                 # 1, 2, … within the group
    status: Literal["firing", "resolved"]
    reason: Literal["new", "escalated", "repeat", "resolved"]
    at: int                                  # the evaluated tick, epoch seconds
    origin: str                              # the most likely origin server
    pattern: str                             # one of the analysis's patterns, or unknown
    severity: Severity
    servers: tuple[str, ...]                 # every affected server, origin first
    starts_at: int
    ends_at: int | None
    summary: str                             # one line for people
    alerts: tuple[NotificationAlert, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"{self.group_key}:{self.seq}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the outbox keeps notifications this way until delivered)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        fields = dict(data)
        fields["servers"] = tuple(fields["servers"])
        fields["alerts"] = tuple(NotificationAlert(**a) for a in fields.get("alerts", ()))
        return cls(**fields)

    @property
    def labels(self) -> dict[str, str]:
        """The group's labels (Alertmanager's ``groupLabels``/``commonLabels``)."""
        return {"alertname": "FleetIncident", "origin": self.origin, "pattern": self.pattern,
                "severity": self.severity}

"""Notifications the channel tests send: one incident firing, then resolved."""

from __future__ import annotations

from dataclasses import replace

from lib.alerts import Notification, NotificationAlert, fingerprint

T0 = 1704186000  # 2024-01-02T09:00:00Z
EXTERNAL = "https://fleet.example.com"

DB_LABELS = {"alertname": "HighMemory", "server_id": "db-02", "role": "db", "metric": "memory",
             "severity": "critical", "rule": "memory-static"}
API_LABELS = {"alertname": "HighLatency", "server_id": "api-01", "role": "api",
              "metric": "response_time", "severity": "warning", "rule": "latency-adaptive"}
DB_FP = fingerprint(DB_LABELS)
API_FP = fingerprint(API_LABELS)


def firing(group_key: str = "inc-0123456789abcdef", *, seq: int = 1, t0: int = T0
           ) -> Notification:
    """A critical memory leak on db-02 that spread to api-01, as first notified (it started
    at ``t0``: a live Alertmanager needs the present)."""
    db = NotificationAlert(DB_FP, "firing", DB_LABELS, {"summary": "HighMemory on db-02 at 93.2"},
                           t0, None, 93.2)
    api = NotificationAlert(API_FP, "firing", API_LABELS,
                            {"summary": "HighLatency on api-01 at 850"}, t0 + 60, None, 850.0)
    return Notification(group_key=group_key, seq=seq, status="firing", reason="new", at=t0 + 120,
                        origin="db-02", pattern="memory_leak", severity="critical",
                        servers=("db-02", "api-01"), starts_at=t0, ends_at=None,
                        summary="[CRITICAL] memory leak on db-02 and 1 more", alerts=(db, api))


def resolved(group_key: str = "inc-0123456789abcdef", *, seq: int = 2, t0: int = T0,
             lasted: int = 1800) -> Notification:
    """The same group, resolved ``lasted`` seconds after it started."""
    base = firing(group_key, t0=t0)
    end = t0 + lasted
    alerts = tuple(replace(a, status="resolved", ends_at=end) for a in base.alerts)
    return replace(base, seq=seq, status="resolved", reason="resolved", at=end, ends_at=end,
                   summary="[RESOLVED] memory leak on db-02 and 1 more", alerts=alerts)

"""The alert tables' JSON shapes, shared by the stores that call sql/007's functions
(PostgreSQL directly, Supabase over PostgREST)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lib.core import InvalidParameter, StoreError, format_iso, parse_instant

from .base import AlertEvent, OutboxItem

__all__ = ["delivery_request", "event_record", "from_event", "from_outbox", "history_request",
           "outbox_record", "records_request", "save_request"]


def outbox_record(item: OutboxItem) -> dict[str, Any]:
    return {"key": item.key, "channel": item.channel, "group_key": item.group_key,
            "status": item.status, "at": format_iso(item.at), "payload": item.payload}


def event_record(event: AlertEvent) -> dict[str, Any]:
    return {"fingerprint": event.fingerprint, "at": format_iso(event.at),
            "to_state": event.to_state, "from_state": event.from_state,
            "server_id": event.server_id, "severity": event.severity,
            "labels": event.labels, "value": event.value, "group_key": event.group_key}


def records_request(outbox: Sequence[OutboxItem], events: Sequence[AlertEvent]
                    ) -> dict[str, Any]:
    return {"notifications": [outbox_record(i) for i in outbox],
            "events": [event_record(e) for e in events]}


def save_request(state: dict[str, Any], expected: int, last_tick: int | None
                 ) -> dict[str, Any]:
    return {"expected": expected, "state": state,
            "last_tick": None if last_tick is None else format_iso(last_tick)}


def delivery_request(key: str, channel: str, delivered_at: int | None, error: str | None
                     ) -> dict[str, Any]:
    return {"key": key, "channel": channel, "error": error,
            "delivered_at": None if delivered_at is None else format_iso(delivered_at)}


def history_request(server_id: str | None, severity: str | None, limit: int,
                    before: tuple[int, str] | None) -> dict[str, Any]:
    return {"server_id": server_id, "severity": severity, "limit": limit,
            "before_at": None if before is None else format_iso(before[0]),
            "before_fingerprint": None if before is None else before[1]}


def _instant(value: Any) -> int:
    """A timestamptz as PostgreSQL's to_jsonb writes it (``2024-01-01T00:00:00+00:00``)."""
    text = str(value).replace("+00:00", "Z")
    return parse_instant(text, "at")


def from_outbox(record: Mapping[str, Any]) -> OutboxItem:
    try:
        return OutboxItem(
            str(record["key"]), str(record["channel"]), str(record["group_key"]),
            str(record["status"]), _instant(record["at"]), dict(record["payload"]),
            int(record["attempts"]),
            None if record.get("delivered_at") is None else _instant(record["delivered_at"]),
            record.get("last_error"))
    except (KeyError, TypeError, ValueError, InvalidParameter) as exc:
        raise StoreError(f"unexpected alert outbox record: {exc}") from exc


def from_event(record: Mapping[str, Any]) -> AlertEvent:
    try:
        value = record.get("value")
        return AlertEvent(
            str(record["fingerprint"]), _instant(record["at"]), str(record["to_state"]),
            str(record["from_state"]), str(record["server_id"]), str(record["severity"]),
            {str(k): str(v) for k, v in dict(record["labels"]).items()},
            None if value is None else float(value), record.get("group_key"))
    except (KeyError, TypeError, ValueError, InvalidParameter) as exc:
        raise StoreError(f"unexpected alert history record: {exc}") from exc

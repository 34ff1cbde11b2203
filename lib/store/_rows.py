"""Helpers the store backends share: batch de-duplication and the ground-truth JSON shape."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from lib.core import AffectedServer, Incident, MetricRow, StoreError, parse_instant

__all__ = ["affected_from_json", "affected_to_json", "dedupe_rows", "services_to_json"]


def dedupe_rows(rows: Iterable[MetricRow]) -> list[MetricRow]:
    """One row per (server_id, timestamp), the last occurrence winning, in first-seen order.

    Stores upsert a batch in one statement, and PostgreSQL refuses an ``ON CONFLICT DO
    UPDATE`` that would touch the same row twice; de-duplicating first also makes every
    backend report the same count for a batch that repeats a key.
    """
    unique: dict[tuple[str, int], MetricRow] = {}
    for row in rows:
        unique[(row.server_id, row.timestamp)] = row
    return list(unique.values())


def affected_to_json(incident: Incident) -> str:
    """``affected`` as stored in ``scenario_execution_log.affected_servers``.

    ``[{"server_id": "db-01", "onset": "2024-01-01T03:10:00Z"}, ...]``, origin first — the
    same shape ``Incident.as_dict`` gives the API.
    """
    return json.dumps(incident.affected_list(), separators=(",", ":"))


def affected_from_json(value: str | Sequence[Any]) -> tuple[AffectedServer, ...]:
    """Parse ``affected_servers`` (JSON text or already-decoded list).

    Onsets may be ISO strings or epoch seconds, so rows written by other tools still load.
    """
    items: Sequence[Any] = json.loads(value) if isinstance(value, str) else value
    try:
        return tuple(
            AffectedServer(str(item["server_id"]), _epoch(item["onset"])) for item in items
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"malformed affected_servers in scenario_execution_log: {exc}") from exc


def services_to_json(services: Sequence[str]) -> str:
    """A template's services as a JSON array."""
    return json.dumps(list(services))


def _epoch(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("onset is a boolean")
    if isinstance(value, int | float):
        return int(value)
    return parse_instant(str(value), "onset")

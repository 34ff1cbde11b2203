"""Helpers the store backends share: batch de-duplication and the ground-truth JSON shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lib.core import (
    ROLLUP_METRICS,
    ROLLUP_STATS,
    STATUSES,
    AffectedServer,
    Incident,
    MetricRow,
    Rollup,
    StoreError,
    format_iso,
    parse_instant,
)

__all__ = [
    "affected_from_json",
    "affected_to_json",
    "dedupe_rows",
    "incident_record",
    "rollup_from_values",
    "rollup_record",
    "services_to_json",
]


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


def incident_record(
    incident: Incident, instant: Callable[[int], object] = format_iso
) -> dict[str, Any]:
    """A ``scenario_execution_log`` row as JSON, times written by ``instant`` (ISO 8601 for
    PostgREST, epoch seconds for the direct PostgreSQL store's ``to_timestamp``)."""
    return {
        "id": incident.id,
        "pattern": incident.pattern,
        "origin_server": incident.origin,
        # a JSON array, not a string: PostgreSQL stores it as jsonb as it is
        "affected_servers": incident.affected_list(),
        # json writes the shortest exact repr and jsonb parses it as numeric, so every digit
        # of the float survives and reads back equal (a float8 parameter would keep only 15)
        "intensity": float(incident.intensity),
        "started_at": instant(incident.start),
        "ended_at": instant(incident.end),
        "duration_seconds": incident.end - incident.start,
    }


_STAT_COLUMNS = tuple(f"{m}_{s}" for m in ROLLUP_METRICS for s in ROLLUP_STATS)


def rollup_record(rollup: Rollup, instant: Callable[[int], object] = format_iso
                  ) -> dict[str, Any]:
    """A ``server_metrics_history`` row as JSON, the hour written by ``instant``."""
    return {"server_id": rollup.server_id, "hour": instant(rollup.start),
            "samples": rollup.samples, **dict(zip(_STAT_COLUMNS, rollup.values, strict=True)),
            "status": rollup.status}


def rollup_from_values(server_id: str, hour: int, samples: int, values: Sequence[Any],
                       status: str) -> Rollup:
    """A rollup from a stored row's columns (numbers may come back as Decimal or str)."""
    if status not in STATUSES or len(values) != len(_STAT_COLUMNS):
        raise StoreError(f"malformed row in server_metrics_history for {server_id}")
    try:
        numbers = tuple(None if v is None else float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"malformed statistic in server_metrics_history: {exc}") from exc
    return Rollup(server_id, int(hour), int(samples), numbers, status)  # type: ignore[arg-type]


def services_to_json(services: Sequence[str]) -> str:
    """A template's services as a JSON array."""
    return json.dumps(list(services))


def _epoch(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("onset is a boolean")
    if isinstance(value, int | float):
        return int(value)
    return parse_instant(str(value), "onset")

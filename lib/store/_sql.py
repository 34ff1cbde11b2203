"""SQL the two SQL backends (SQLite and PostgreSQL) share, written once for both dialects:
the filter of a metric query and the update clause of each upsert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.core import ROLLUP_METRICS, ROLLUP_STATS

from .base import MetricQuery

__all__ = [
    "HISTORY_COLUMNS",
    "INCIDENT_UPDATES",
    "METRIC_UPDATES",
    "POSTGRES",
    "SQLITE",
    "TEMPLATE_UPDATES",
    "Dialect",
    "on_conflict",
    "where",
]

# What an upsert replaces when its key exists (everything but the key and created_at).
METRIC_UPDATES = ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx",
                  "connections", "status")
INCIDENT_UPDATES = ("pattern", "origin_server", "affected_servers", "intensity", "started_at",
                    "ended_at", "duration_seconds")
TEMPLATE_UPDATES = ("name", "hostname", "role", "location", "environment", "cpu_cores",
                    "memory_total_mb", "disk_total_mb", "services", "platform")
# server_metrics_history after (server_id, hour): samples, each metric's statistics, status.
HISTORY_COLUMNS = ("samples",
                   *(f"{m}_{s}" for m in ROLLUP_METRICS for s in ROLLUP_STATS), "status")


@dataclass(frozen=True)
class Dialect:
    """How a dialect writes a parameter, an instant parameter and "column is one of"."""

    mark: str         # a parameter placeholder
    instant: str      # an epoch-seconds parameter as the timestamp column's type
    list_param: bool  # True: "= ANY(array)" with one parameter; False: "IN (?, ?, …)"

    def one_of(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        if self.list_param:
            return f"{column} = ANY({self.mark}::text[])", [list(values)]
        return f"{column} IN ({', '.join([self.mark] * len(values))})", list(values)


SQLITE = Dialect(mark="?", instant="?", list_param=False)  # timestamps are INTEGER there
POSTGRES = Dialect(mark="%s", instant="to_timestamp(%s)", list_param=True)


def where(query: MetricQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """`` WHERE …`` (or nothing) and its parameters, for ``query`` in ``dialect``."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.server_ids is not None:
        clause, values = dialect.one_of("server_id", query.server_ids)
        clauses.append(clause)
        params.extend(values)
    if query.start is not None:
        clauses.append(f"timestamp >= {dialect.instant}")
        params.append(query.start)
    if query.end is not None:
        clauses.append(f"timestamp < {dialect.instant}")
        params.append(query.end)
    if query.statuses is not None:
        clause, values = dialect.one_of("status", query.statuses)
        clauses.append(clause)
        params.extend(values)
    if query.after is not None:
        # a row comparison: the keyset cursor walks the (timestamp, server_id) index
        clauses.append(f"(timestamp, server_id) > ({dialect.instant}, {dialect.mark})")
        params.extend(query.after)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def on_conflict(key: str, columns: Sequence[str], *extra: str) -> str:
    """``ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, …`` (plus ``extra`` assignments)."""
    assignments = [f"{c} = EXCLUDED.{c}" for c in columns] + list(extra)
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(assignments)

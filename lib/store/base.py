"""The store protocol: history of metric rows, ground truth and server templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..fleet import ServerTemplate
from ..models import Incident, MetricRow, Status

__all__ = ["MetricQuery", "MetricStore"]


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """Filters for ``query_metrics``. Times are epoch seconds, the window half-open [start, end).

    ``after`` is a keyset cursor: only rows strictly after (timestamp, server_id) in
    (timestamp, server_id) order are returned.
    """

    server_ids: tuple[str, ...] | None = None
    start: int | None = None
    end: int | None = None
    statuses: tuple[Status, ...] | None = None
    limit: int = 1000
    after: tuple[int, str] | None = None


@runtime_checkable
class MetricStore(Protocol):
    """What every store backend provides. Failures raise lib.errors.StoreError subclasses."""

    name: str

    def upsert_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Insert or replace rows keyed on (server_id, timestamp); returns rows written."""
        ...

    def query_metrics(self, query: MetricQuery) -> list[MetricRow]:
        """Rows matching ``query``, ordered by timestamp then server id, at most ``limit``."""
        ...

    def latest(self, server_ids: Sequence[str] | None = None) -> list[MetricRow]:
        """The newest row of each server (of ``server_ids`` when given), ordered by server id."""
        ...

    def delete_metrics(self, start: int, end: int) -> int:
        """Delete rows in [start, end) and incidents starting in it; returns metric rows deleted."""
        ...

    def prune(self, cutoff: int) -> int:
        """Delete rows older than ``cutoff`` and incidents that ended before it; returns rows."""
        ...

    def upsert_incidents(self, incidents: Sequence[Incident]) -> int:
        """Insert or replace ground-truth records keyed on incident id."""
        ...

    def query_incidents(self, start: int, end: int) -> list[Incident]:
        """Incidents overlapping [start, end), ordered by start then id."""
        ...

    def upsert_templates(self, templates: Sequence[ServerTemplate]) -> int:
        """Insert or replace server templates keyed on id."""
        ...

    def last_tick(self) -> int | None:
        """The newest stored timestamp, or None when empty."""
        ...

    def health(self) -> None:
        """Return when the store answers a trivial query; raise StoreUnavailable otherwise."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

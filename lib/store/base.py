"""The store protocol: history of metric rows, ground truth and server templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from lib.core import Incident, MetricRow, Rollup, ServerTemplate, Status

__all__ = ["AlertEvent", "MetricQuery", "MetricStore", "OutboxItem", "WriteBatch", "Written"]


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


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """What the collect → store pipeline writes for one window, in one transaction.

    ``rows`` are upserted on (server_id, timestamp), ``incidents`` on their id and the hourly
    ``rollups`` on (server_id, hour); with ``clear``, rows in [start, end) and incidents
    starting in it are deleted first. A crash or failure anywhere leaves the store as it was
    before the batch.
    """

    start: int
    end: int
    rows: Sequence[MetricRow]
    incidents: Sequence[Incident]
    clear: bool = False
    rollups: Sequence[Rollup] = ()


class Written(NamedTuple):
    """What a WriteBatch did: distinct rows written, and rows its clear deleted."""

    rows: int
    cleared: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification for one channel (the alert outbox, sql/007). ``key`` is the
    notification's deterministic key: (key, channel) is stored once, whoever inserts it."""

    key: str
    channel: str
    group_key: str
    status: str
    at: int
    payload: dict[str, Any]
    attempts: int = 0
    delivered_at: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert changing state (the alert history), keyed (fingerprint, at, to_state)."""

    fingerprint: str
    at: int
    to_state: str
    from_state: str
    server_id: str
    severity: str
    labels: dict[str, str]
    value: float | None
    group_key: str | None


@runtime_checkable
class MetricStore(Protocol):
    """What every store backend provides. Failures raise lib.errors.StoreError subclasses.

    Every call has a deadline on our side (``STORE_TIMEOUT_SECONDS``): a database that stops
    answering makes calls fail with StoreUnavailable in time, never hang.
    """

    name: str
    # True for a store in a local file that the local server fills itself (SQLite).
    embedded: bool

    def upsert_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Insert or replace rows keyed on (server_id, timestamp); returns rows written."""
        ...

    def write_batch(self, batch: WriteBatch) -> Written:
        """Apply ``batch`` atomically (see WriteBatch)."""
        ...

    def query_metrics(self, query: MetricQuery) -> list[MetricRow]:
        """Rows matching ``query``, ordered by timestamp then server id, at most ``limit``."""
        ...

    def query_history(self, server_id: str, start: int, end: int, limit: int,
                      after: int | None = None) -> list[Rollup]:
        """A server's hourly rollups whose hour starts in [start, end) (and after ``after``),
        ordered by hour, at most ``limit``."""
        ...

    def prune_history(self, cutoff: int) -> int:
        """Delete hourly rollups of hours before ``cutoff``; returns how many."""
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

    # -- the alert engine's state (sql/007; docs/alerts.md) ---------------------------------

    def load_alert_state(self) -> tuple[int, dict[str, Any]] | None:
        """(version, state document), or None before the first evaluation."""
        ...

    def save_alert_state(self, state: dict[str, Any], expected: int,
                         last_tick: int | None) -> bool:
        """Write ``state`` as version ``expected + 1`` if the stored version is still
        ``expected`` (0: none stored yet); False when someone wrote first."""
        ...

    def add_alert_records(self, outbox: Sequence[OutboxItem],
                          events: Sequence[AlertEvent]) -> int:
        """Insert outbox items and history events, skipping any already stored; returns how
        many outbox items were new."""
        ...

    def pending_notifications(self, limit: int, max_attempts: int) -> list[OutboxItem]:
        """Undelivered outbox items with fewer than ``max_attempts`` attempts, oldest first."""
        ...

    def record_delivery(self, key: str, channel: str, delivered_at: int | None,
                        error: str | None) -> bool:
        """Count one attempt of an undelivered item and its outcome; False if it was
        already delivered (another instance got there first)."""
        ...

    def query_alert_history(self, server_id: str | None, severity: str | None, limit: int,
                            before: tuple[int, str] | None = None) -> list[AlertEvent]:
        """State changes, newest first, keyset-paged on (at, fingerprint)."""
        ...

    def health(self) -> None:
        """Return when the store answers a trivial query; raise StoreUnavailable otherwise."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

"""The direct PostgreSQL store (psycopg 3), for ``POSTGRES_URL`` / ``DATABASE_URL``.

Built for a transaction-mode pooler (no prepared statements, no session state, one short
transaction per call, bulk upserts as one ``unnest()`` statement), with a deadline on our side
for every call. It never creates tables: the schema is sql/'s. Details in
docs/postgres-store.md.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from lib.core import (
    Incident,
    MetricRow,
    Rollup,
    ServerTemplate,
    StoreError,
    StoreUnavailable,
    dsn_passwords,
    redact,
)

from ._alerts import (
    delivery_request,
    from_event,
    from_outbox,
    history_request,
    records_request,
    save_request,
)
from ._rows import (
    affected_from_json,
    dedupe_rows,
    incident_record,
    rollup_from_values,
    rollup_record,
)
from ._sql import (
    HISTORY_COLUMNS,
    INCIDENT_UPDATES,
    METRIC_UPDATES,
    POSTGRES,
    TEMPLATE_UPDATES,
    on_conflict,
)
from ._sql import where as sql_where
from .base import AlertEvent, MetricQuery, OutboxItem, WriteBatch, Written

__all__ = ["PostgresStore", "libpq_dsn"]

T = TypeVar("T")
Cursor = psycopg.Cursor[tuple[Any, ...]]

# Rows per INSERT statement: bounds one statement's parameter size while keeping a fleet-week
# to a couple of round trips. The arrays travel in binary (%b): parsing 100,000 array
# elements from text costs the server about as much again as sending them.
_CHUNK = 10_000



def _select_metrics(alias: str = "") -> str:
    """The SELECT list of a metric row, columns qualified by ``alias`` when given."""
    a = f"{alias}." if alias else ""
    return (
        f"SELECT extract(epoch FROM {a}timestamp)::bigint, {a}server_id, {a}cpu::float8, "
        f"{a}memory::float8, {a}disk::float8, {a}response_time, {a}network_rx::float8, "
        f"{a}network_tx::float8, {a}connections, {a}status"
    )


_SELECT_METRICS = _select_metrics()

_UPSERT_METRICS = f"""
INSERT INTO daily_metrics
    (timestamp, server_id, cpu, memory, disk, response_time,
     network_rx, network_tx, connections, status)
SELECT to_timestamp(t), s, c, m, d, r, rx, tx, n, st
FROM unnest(%b::bigint[], %b::text[], %b::float8[], %b::float8[], %b::float8[], %b::int[],
            %b::float8[], %b::float8[], %b::int[], %b::text[])
     AS u(t, s, c, m, d, r, rx, tx, n, st)
{on_conflict("server_id, timestamp", METRIC_UPDATES)}
"""

# Small batches travel as one JSON document: a single statement, no pipelining needed.
_UPSERT_INCIDENTS = f"""
INSERT INTO scenario_execution_log
    (id, pattern, origin_server, affected_servers, intensity,
     started_at, ended_at, duration_seconds)
SELECT id, pattern, origin_server, affected_servers, intensity,
       to_timestamp(started_at), to_timestamp(ended_at), ended_at - started_at
FROM jsonb_to_recordset(%s::jsonb) AS x(
    id text, pattern text, origin_server text, affected_servers jsonb, intensity numeric,
    started_at bigint, ended_at bigint)
{on_conflict("id", INCIDENT_UPDATES)}
"""

_HISTORY = "server_id, hour, " + ", ".join(HISTORY_COLUMNS)
_HISTORY_TYPES = ", ".join(f"{c} numeric" for c in HISTORY_COLUMNS[1:-1])
_UPSERT_HISTORY = f"""
INSERT INTO server_metrics_history ({_HISTORY})
SELECT server_id, to_timestamp(hour), {", ".join(HISTORY_COLUMNS)}
FROM jsonb_to_recordset(%s::jsonb) AS x(
    server_id text, hour bigint, samples integer, {_HISTORY_TYPES}, status text)
{on_conflict("server_id, hour", HISTORY_COLUMNS)}
"""
_SELECT_HISTORY = (
    "SELECT server_id, extract(epoch FROM hour)::bigint, samples, "
    + ", ".join(f"{c}::float8" for c in HISTORY_COLUMNS[1:-1])
    + ", status FROM server_metrics_history WHERE server_id = %s "
    "AND hour >= to_timestamp(%s) AND hour < to_timestamp(%s) AND hour > to_timestamp(%s) "
    "ORDER BY hour LIMIT %s"
)

_SELECT_INCIDENTS = """
SELECT id, pattern, origin_server, affected_servers, intensity::float8,
       extract(epoch FROM started_at)::bigint, extract(epoch FROM ended_at)::bigint
FROM scenario_execution_log
WHERE started_at < to_timestamp(%s) AND ended_at > to_timestamp(%s)
ORDER BY started_at, id
"""

_UPSERT_TEMPLATES = f"""
INSERT INTO server_templates
    (id, name, hostname, role, location, environment,
     cpu_cores, memory_total_mb, disk_total_mb, services, platform)
SELECT id, name, hostname, role, location, environment,
       cpu_cores, memory_total_mb, disk_total_mb, services, platform
FROM jsonb_to_recordset(%s::jsonb) AS x(
    id text, name text, hostname text, role text, location text, environment text,
    cpu_cores int, memory_total_mb int, disk_total_mb int, services jsonb, platform text)
{on_conflict("id", TEMPLATE_UPDATES, "updated_at = now()")}
"""

# Newest row per server. Without a list of ids, a recursive "loose index scan" hops from one
# server_id to the next on the unique (server_id, timestamp) index, then one index probe per
# server fetches its newest row: cost grows with the number of servers, not of rows.
_NEWEST = (
    " CROSS JOIN LATERAL ("
    "SELECT * FROM daily_metrics d WHERE d.server_id = ids.server_id "
    "ORDER BY d.timestamp DESC LIMIT 1) m ORDER BY m.server_id"
)
_LATEST_ALL = (
    "WITH RECURSIVE ids AS ("
    "(SELECT server_id FROM daily_metrics ORDER BY server_id LIMIT 1) "
    "UNION ALL "
    "SELECT (SELECT d.server_id FROM daily_metrics d WHERE d.server_id > ids.server_id "
    "ORDER BY d.server_id LIMIT 1) FROM ids WHERE ids.server_id IS NOT NULL) "
    + _select_metrics("m")
    + " FROM ids"
    + _NEWEST
)
_LATEST_SOME = _select_metrics("m") + " FROM unnest(%s::text[]) AS ids(server_id)" + _NEWEST

_MIN_CONNECT_TIMEOUT = 2  # libpq's and psycopg's floor for connect_timeout

_MISSING_SCHEMA = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction)


def libpq_dsn(dsn: str) -> str:
    """``dsn`` without URL query parameters libpq does not know.

    Connection strings meant for other clients carry extras libpq rejects outright
    ("invalid URI query parameter"): Prisma's ``pgbouncer=true``, Vercel's ``supa=...``.
    """
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql") or not parts.query:
        return dsn
    known = {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in known]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class PostgresStore:
    """MetricStore on PostgreSQL through psycopg 3.

    Connects lazily on first use and keeps one autocommit connection, shared by threads under
    a lock. A connection that went stale while the function was frozen is replaced and the
    operation retried once (every operation is idempotent: upserts and range deletes).

    Every call has a deadline of ``timeout`` seconds on our side, whatever the server does:
    waiting for the lock counts against it, connecting is bounded by ``connect_timeout``,
    and a statement still unanswered at the deadline has its socket shut down by a watchdog
    (a stopped server keeps acknowledging TCP, so no socket option would notice), which
    fails the call and discards the connection. ``statement_timeout`` also stops the work
    on a server that is alive but slow.
    """

    name = "postgres"
    embedded = False

    def __init__(self, dsn: str, timeout: float = 8.0) -> None:
        self._dsn = libpq_dsn(dsn)
        self._secrets = dsn_passwords(dsn)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._set_timeout = sql.SQL("SET LOCAL statement_timeout = {}").format(
            sql.Literal(int(timeout * 1000))
        )

    # -- connection handling -------------------------------------------------------------

    def _redact(self, exc: BaseException) -> str:
        """The driver's message without our password (libpq quotes a malformed DSN)."""
        return redact(str(exc), self._secrets)

    def _connect(self, budget: float) -> psycopg.Connection[tuple[Any, ...]]:
        """A new connection within ``budget`` seconds (libpq's floor of 2 s aside)."""
        # connect_timeout is whole seconds, at least 2: with clearly less time left than that
        # (and than the whole timeout), trying could only overrun the deadline
        if budget < min(_MIN_CONNECT_TIMEOUT, self._timeout) - 0.5:
            raise StoreUnavailable(f"PostgreSQL: no time left of {self._timeout:g} s to connect")
        try:
            return psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,  # poolers in transaction mode cannot keep them
                connect_timeout=max(_MIN_CONNECT_TIMEOUT, math.floor(budget)),
                application_name="fleet-metrics",
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {self._redact(exc)}") from exc

    def _run(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work`` in one short transaction before the deadline, errors translated."""
        deadline = time.monotonic() + self._timeout
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreUnavailable(f"PostgreSQL busy: no connection free within "
                                   f"{self._timeout:g} s")
        try:
            reused = self._conn is not None and not self._conn.closed
            try:
                return self._attempt(work, deadline)
            except psycopg.OperationalError as exc:
                # only a connection that died between calls earns a retry; a fresh one
                # failing means the database is really down
                if not (reused and self._conn is None) or time.monotonic() >= deadline:
                    raise _translate(exc, self._redact(exc)) from exc
            try:
                return self._attempt(work, deadline)
            except psycopg.Error as exc:
                raise _translate(exc, self._redact(exc)) from exc
        finally:
            self._lock.release()

    def _attempt(self, work: Callable[[Cursor], T], deadline: float) -> T:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect(deadline - time.monotonic())
        conn = self._conn
        fired = threading.Event()
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut_down,
                                   (conn, fired))
        watchdog.daemon = True
        watchdog.start()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(self._set_timeout)
                return work(cur)
        except psycopg.OperationalError as exc:
            if conn.broken or conn.closed or fired.is_set():
                self._conn = None
                conn.close()
            if fired.is_set():
                raise StoreUnavailable(f"PostgreSQL did not answer within "
                                       f"{self._timeout:g} s") from exc
            raise
        except psycopg.Error as exc:
            raise _translate(exc, self._redact(exc)) from exc
        finally:
            watchdog.cancel()

    # -- metrics ---------------------------------------------------------------------------

    def upsert_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Insert or replace rows keyed on (server_id, timestamp); returns distinct rows written."""
        unique = dedupe_rows(rows)
        if not unique:
            return 0

        def work(cur: Cursor) -> int:
            for begin in range(0, len(unique), _CHUNK):
                cur.execute(_UPSERT_METRICS, _columns(unique[begin : begin + _CHUNK]))
            return len(unique)

        return self._run(work)

    def write_batch(self, batch: WriteBatch) -> Written:
        """Clear (if asked), rows and ground truth in one transaction."""
        unique = dedupe_rows(batch.rows)
        incidents = _incidents_document(batch.incidents)
        history = json.dumps([rollup_record(r, int) for r in batch.rollups])

        def work(cur: Cursor) -> Written:
            cleared = _delete_window(cur, batch.start, batch.end) if batch.clear else 0
            for begin in range(0, len(unique), _CHUNK):
                cur.execute(_UPSERT_METRICS, _columns(unique[begin : begin + _CHUNK]))
            if incidents is not None:
                cur.execute(_UPSERT_INCIDENTS, (incidents,))
            if batch.rollups:
                cur.execute(_UPSERT_HISTORY, (history,))
            return Written(len(unique), cleared)

        return self._run(work)

    def query_history(self, server_id: str, start: int, end: int, limit: int,
                      after: int | None = None) -> list[Rollup]:
        """A server's hourly rollups in [start, end) (after ``after``), ordered by hour."""
        floor = after if after is not None else start - 1

        def work(cur: Cursor) -> list[Rollup]:
            cur.execute(_SELECT_HISTORY, (server_id, start, end, floor, limit))
            return [rollup_from_values(r[0], r[1], r[2], r[3:-1], r[-1])
                    for r in cur.fetchall()]

        return self._run(work)

    def prune_history(self, cutoff: int) -> int:
        """Delete rollups of hours before ``cutoff``."""

        def work(cur: Cursor) -> int:
            cur.execute("DELETE FROM server_metrics_history WHERE hour < to_timestamp(%s)",
                        (cutoff,))
            return cur.rowcount

        return self._run(work)

    def query_metrics(self, query: MetricQuery) -> list[MetricRow]:
        """Rows matching ``query`` ordered by (timestamp, server_id), at most ``query.limit``."""
        where, params = sql_where(query, POSTGRES)
        statement = (
            _SELECT_METRICS + " FROM daily_metrics" + where
            + " ORDER BY timestamp, server_id LIMIT %s"
        )
        return self._run(lambda cur: _fetch_rows(cur, statement, [*params, query.limit]))

    def latest(self, server_ids: Sequence[str] | None = None) -> list[MetricRow]:
        """The newest row of each server (of ``server_ids`` when given), ordered by server id."""
        if server_ids is None:
            return self._run(lambda cur: _fetch_rows(cur, _LATEST_ALL, []))
        if not server_ids:
            return []
        ids = sorted(set(server_ids))
        return self._run(lambda cur: _fetch_rows(cur, _LATEST_SOME, [ids]))

    def delete_metrics(self, start: int, end: int) -> int:
        """Delete rows in [start, end) and incidents starting in it; returns metric rows deleted."""

        return self._run(lambda cur: _delete_window(cur, start, end))

    def prune(self, cutoff: int) -> int:
        """Delete rows older than ``cutoff`` and incidents that ended before it (sql/003)."""

        def work(cur: Cursor) -> int:
            cur.execute("SELECT prune_daily_metrics(to_timestamp(%s))", (cutoff,))
            return int(_one(cur)[0])

        return self._run(work)

    def last_tick(self) -> int | None:
        """The newest stored timestamp, or None when empty."""

        def work(cur: Cursor) -> int | None:
            cur.execute("SELECT extract(epoch FROM max(timestamp))::bigint FROM daily_metrics")
            value = _one(cur)[0]
            return None if value is None else int(value)

        return self._run(work)

    # -- ground truth and templates --------------------------------------------------------

    def upsert_incidents(self, incidents: Sequence[Incident]) -> int:
        """Insert or replace ground-truth records keyed on incident id."""
        document = _incidents_document(incidents)
        if document is None:
            return 0
        return self._run(lambda cur: _execute_count(cur, _UPSERT_INCIDENTS, document))

    def query_incidents(self, start: int, end: int) -> list[Incident]:
        """Incidents overlapping [start, end), ordered by start then id."""

        def work(cur: Cursor) -> list[Incident]:
            cur.execute(_SELECT_INCIDENTS, (end, start))
            return [_incident(r) for r in cur.fetchall()]

        return self._run(work)

    def upsert_templates(self, templates: Sequence[ServerTemplate]) -> int:
        """Insert or replace server templates keyed on id."""
        unique = {t.id: t.as_dict() for t in templates}
        if not unique:
            return 0
        document = json.dumps(list(unique.values()))
        return self._run(lambda cur: _execute_count(cur, _UPSERT_TEMPLATES, document))

    # -- lifecycle -------------------------------------------------------------------------

    # -- the alert engine (sql/007's functions, as the Supabase store calls them) ---------

    def _function(self, name: str, request: Mapping[str, Any]) -> Any:
        statement = sql.SQL("SELECT {}(%s::jsonb)").format(sql.Identifier(name))

        def work(cur: Cursor) -> Any:
            cur.execute(statement, (json.dumps(request),))
            return _one(cur)[0]

        return self._run(work)

    def load_alert_state(self) -> tuple[int, dict[str, Any]] | None:
        found = self._function("alert_state_load", {})
        return None if found is None else (int(found["version"]), dict(found["state"]))

    def save_alert_state(self, state: dict[str, Any], expected: int,
                         last_tick: int | None) -> bool:
        return bool(self._function("alert_state_save",
                                   save_request(state, expected, last_tick)))

    def add_alert_records(self, outbox: Sequence[OutboxItem],
                          events: Sequence[AlertEvent]) -> int:
        if not outbox and not events:
            return 0
        added = self._function("alert_records_add", records_request(outbox, events))
        return int(added["notifications"])

    def pending_notifications(self, limit: int, max_attempts: int) -> list[OutboxItem]:
        found = self._function("alert_pending", {"limit": limit, "max_attempts": max_attempts})
        return [from_outbox(r) for r in found]

    def record_delivery(self, key: str, channel: str, delivered_at: int | None,
                        error: str | None) -> bool:
        return bool(self._function("alert_delivery_record",
                                   delivery_request(key, channel, delivered_at, error)))

    def query_alert_history(self, server_id: str | None, severity: str | None, limit: int,
                            before: tuple[int, str] | None = None) -> list[AlertEvent]:
        found = self._function("alert_history_page",
                               history_request(server_id, severity, limit, before))
        return [from_event(r) for r in found]

    def health(self) -> None:
        """Return when the database answers a query on the metrics table.

        StoreUnavailable when it cannot be reached; StoreError when the schema is missing.
        """
        self._run(lambda cur: cur.execute("SELECT 1 FROM daily_metrics LIMIT 1").fetchall())

    def close(self) -> None:
        """Close the connection; a later call opens a new one."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _shut_down(conn: psycopg.Connection[tuple[Any, ...]], fired: threading.Event) -> None:
    """Shut the connection's socket (from the watchdog thread): a blocked call then fails."""
    fired.set()
    try:
        fd = conn.pgconn.socket
    except psycopg.Error:
        return  # already closed
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _translate(exc: psycopg.Error, text: str) -> StoreError:
    """Our error for a driver error whose (redacted) message is ``text``."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return StoreUnavailable(f"PostgreSQL unavailable: {text}")
    if isinstance(exc, _MISSING_SCHEMA):
        return StoreError(f"PostgreSQL schema missing (apply the sql/ migrations): {text}")
    return StoreError(f"PostgreSQL error: {text}")


def _delete_window(cur: Cursor, start: int, end: int) -> int:
    """Delete rows in [start, end) and incidents starting in it; returns rows deleted."""
    cur.execute(
        "DELETE FROM daily_metrics "
        "WHERE timestamp >= to_timestamp(%s) AND timestamp < to_timestamp(%s)",
        (start, end),
    )
    deleted = cur.rowcount
    cur.execute(
        "DELETE FROM scenario_execution_log "
        "WHERE started_at >= to_timestamp(%s) AND started_at < to_timestamp(%s)",
        (start, end),
    )
    return deleted


def _incidents_document(incidents: Sequence[Incident]) -> str | None:
    """The upsert's JSON document, the last of a repeated id winning (ON CONFLICT cannot
    touch a row twice); None when there is nothing to write."""
    unique = {i.id: incident_record(i, int) for i in incidents}
    return json.dumps(list(unique.values())) if unique else None


def _one(cur: Cursor) -> tuple[Any, ...]:
    row = cur.fetchone()
    if row is None:
        raise StoreError("PostgreSQL returned no row where one was expected")
    return row


def _execute_count(cur: Cursor, statement: str, document: str) -> int:
    cur.execute(statement, (document,))
    return cur.rowcount


def _fetch_rows(cur: Cursor, statement: str, params: Sequence[Any]) -> list[MetricRow]:
    cur.execute(statement, params)
    return [_metric_row(r) for r in cur.fetchall()]


def _columns(rows: Sequence[MetricRow]) -> tuple[list[Any], ...]:
    """Column-wise lists for the unnest() upsert.

    Values are coerced to exact Python types: a binary array must be homogeneous, and callers
    outside the generator (collectors parsing JSON) may hand an int where a float is due.
    """
    return (
        [int(r.timestamp) for r in rows],
        [r.server_id for r in rows],
        [float(r.cpu) for r in rows],
        [float(r.memory) for r in rows],
        [float(r.disk) for r in rows],
        [None if r.response_time is None else int(r.response_time) for r in rows],
        [float(r.network_rx) for r in rows],
        [float(r.network_tx) for r in rows],
        [int(r.connections) for r in rows],
        [r.status for r in rows],
    )


def _metric_row(r: Sequence[Any]) -> MetricRow:
    return MetricRow(
        timestamp=int(r[0]), server_id=r[1], cpu=r[2], memory=r[3], disk=r[4],
        response_time=r[5], network_rx=r[6], network_tx=r[7], connections=r[8], status=r[9],
    )


def _incident(r: Sequence[Any]) -> Incident:
    return Incident(
        id=r[0], pattern=r[1], origin=r[2], affected=affected_from_json(r[3]),
        intensity=r[4], start=int(r[5]), end=int(r[6]),
    )

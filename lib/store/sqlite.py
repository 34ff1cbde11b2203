"""The embedded store: one SQLite file, so everything runs with no account.

Same tables and column names as sql/ (the store creates them itself, which only this backend
may do). Timestamps are INTEGER epoch seconds: they order correctly, compare cheaply and need
no parsing. ``cpu``/``memory``/``disk``/network values are rounded to two decimals on write,
as PostgreSQL's numeric(5,2)/numeric(12,2) columns do, so every backend returns the same
numbers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lib.core import Incident, MetricRow, Rollup, ServerTemplate, StoreError, StoreUnavailable

from ._rows import (
    affected_from_json,
    affected_to_json,
    dedupe_rows,
    rollup_from_values,
    services_to_json,
)
from ._sql import (
    HISTORY_COLUMNS,
    INCIDENT_UPDATES,
    METRIC_UPDATES,
    SQLITE,
    TEMPLATE_UPDATES,
    on_conflict,
)
from ._sql import where as sql_where
from .base import AlertEvent, MetricQuery, OutboxItem, WriteBatch, Written

__all__ = ["SQLiteStore"]

_NOW = "CAST(strftime('%s', 'now') AS INTEGER)"

_HISTORY_STATS = ",\n    ".join(f"{c} REAL" for c in HISTORY_COLUMNS[1:-1])

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS daily_metrics (
    id            INTEGER PRIMARY KEY,
    timestamp     INTEGER NOT NULL,
    server_id     TEXT    NOT NULL,
    cpu           REAL,
    memory        REAL,
    disk          REAL,
    response_time INTEGER,
    network_rx    REAL,
    network_tx    REAL,
    connections   INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('healthy', 'warning', 'critical')),
    created_at    INTEGER NOT NULL DEFAULT ({_NOW}),
    UNIQUE (server_id, timestamp)
);
CREATE INDEX IF NOT EXISTS daily_metrics_timestamp_server_id_idx
    ON daily_metrics (timestamp, server_id);
CREATE INDEX IF NOT EXISTS daily_metrics_status_timestamp_idx
    ON daily_metrics (status, timestamp);
CREATE TABLE IF NOT EXISTS server_templates (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    hostname        TEXT NOT NULL,
    role            TEXT NOT NULL,
    location        TEXT NOT NULL,
    environment     TEXT NOT NULL,
    cpu_cores       INTEGER NOT NULL,
    memory_total_mb INTEGER NOT NULL,
    disk_total_mb   INTEGER NOT NULL,
    services        TEXT NOT NULL,
    platform        TEXT NOT NULL,
    created_at      INTEGER NOT NULL DEFAULT ({_NOW}),
    updated_at      INTEGER NOT NULL DEFAULT ({_NOW})
);
CREATE TABLE IF NOT EXISTS scenario_execution_log (
    id               TEXT PRIMARY KEY,
    pattern          TEXT NOT NULL,
    origin_server    TEXT NOT NULL,
    affected_servers TEXT NOT NULL,
    intensity        REAL NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER NOT NULL,
    duration_seconds INTEGER NOT NULL,
    created_at       INTEGER NOT NULL DEFAULT ({_NOW})
);
CREATE INDEX IF NOT EXISTS scenario_execution_log_started_at_idx
    ON scenario_execution_log (started_at);
CREATE INDEX IF NOT EXISTS scenario_execution_log_ended_at_idx
    ON scenario_execution_log (ended_at);
CREATE TABLE IF NOT EXISTS server_metrics_history (
    server_id   TEXT    NOT NULL,
    hour        INTEGER NOT NULL,
    samples     INTEGER NOT NULL CHECK (samples > 0),
    {_HISTORY_STATS},
    status      TEXT    NOT NULL CHECK (status IN ('healthy', 'warning', 'critical')),
    created_at  INTEGER NOT NULL DEFAULT ({_NOW}),
    PRIMARY KEY (server_id, hour)
);
CREATE INDEX IF NOT EXISTS server_metrics_history_hour_idx ON server_metrics_history (hour);

CREATE TABLE IF NOT EXISTS alert_engine_state (
    id          TEXT    PRIMARY KEY CHECK (id = 'engine'),
    version     INTEGER NOT NULL CHECK (version > 0),
    last_tick   INTEGER,
    state       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL DEFAULT ({_NOW})
);
CREATE TABLE IF NOT EXISTS alert_notifications (
    key           TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    group_key     TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    at            INTEGER NOT NULL,
    payload       TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered_at  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL DEFAULT ({_NOW}),
    PRIMARY KEY (key, channel)
);
CREATE INDEX IF NOT EXISTS alert_notifications_pending_idx
    ON alert_notifications (at) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS alert_history (
    fingerprint  TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    to_state     TEXT    NOT NULL,
    from_state   TEXT    NOT NULL,
    server_id    TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    labels       TEXT    NOT NULL,
    value        REAL,
    group_key    TEXT,
    PRIMARY KEY (fingerprint, at, to_state)
);
CREATE INDEX IF NOT EXISTS alert_history_at_idx ON alert_history (at DESC, fingerprint);
"""

_COLUMNS = (
    "timestamp, server_id, cpu, memory, disk, response_time, "
    "network_rx, network_tx, connections, status"
)

_M_COLUMNS = ", ".join("m." + c for c in _COLUMNS.split(", "))

_UPSERT_METRICS = f"""
INSERT INTO daily_metrics ({_COLUMNS})
VALUES (?, ?, round(?, 2), round(?, 2), round(?, 2), ?, round(?, 2), round(?, 2), ?, ?)
{on_conflict("server_id, timestamp", METRIC_UPDATES)}
"""

_UPSERT_INCIDENT = f"""
INSERT INTO scenario_execution_log
    (id, pattern, origin_server, affected_servers, intensity,
     started_at, ended_at, duration_seconds)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
{on_conflict("id", INCIDENT_UPDATES)}
"""

_UPSERT_TEMPLATE = f"""
INSERT INTO server_templates
    (id, name, hostname, role, location, environment,
     cpu_cores, memory_total_mb, disk_total_mb, services, platform)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
{on_conflict("id", TEMPLATE_UPDATES, f"updated_at = {_NOW}")}
"""

_INCIDENT_COLUMNS = "id, pattern, origin_server, affected_servers, intensity, started_at, ended_at"

_HISTORY = "server_id, hour, " + ", ".join(HISTORY_COLUMNS)
_UPSERT_HISTORY = f"""
INSERT INTO server_metrics_history ({_HISTORY})
VALUES ({", ".join("?" * (len(HISTORY_COLUMNS) + 2))})
{on_conflict("server_id, hour", HISTORY_COLUMNS)}
"""

# sqlite3.OperationalError covers both "cannot reach the file" and plain SQL mistakes;
# these messages are the ones that mean "try again later".
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly", "read-only")


class SQLiteStore:
    """MetricStore on a local SQLite file (``":memory:"`` works too, for one process).

    One connection shared by every thread, serialised by a lock: SQLite runs one writer at a
    time anyway, and the API calls the store from worker threads.
    """

    name = "sqlite"
    embedded = True

    def __init__(self, path: str, timeout: float = 8.0) -> None:
        self.path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn = self._open(path, timeout)

    @staticmethod
    def _open(path: str, timeout: float) -> sqlite3.Connection:
        try:
            if path != ":memory:" and not path.startswith("file:"):
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, around whole batches
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL makes NORMAL safe against corruption; it only risks the last commits on
            # power loss, which a regenerable history can afford
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {path}: {exc}") from exc
        return conn

    @contextmanager
    def _cursor(self, write: bool = False) -> Iterator[sqlite3.Cursor]:
        """A cursor under the lock, errors translated; writes run in one IMMEDIATE transaction.

        Waiting for the lock (another thread's call) counts against the store's timeout.
        """
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreUnavailable(f"SQLite store busy for more than {self._timeout:g} s")
        try:
            try:
                cur = self._conn.cursor()
                if not write:
                    yield cur
                    return
                # IMMEDIATE takes the write lock up front, so a concurrent writer waits on
                # busy_timeout instead of failing halfway through the batch
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                except BaseException:
                    self._conn.rollback()
                    raise
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
        finally:
            self._lock.release()

    def upsert_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Insert or replace rows keyed on (server_id, timestamp); returns distinct rows written."""
        unique = dedupe_rows(rows)
        if not unique:
            return 0
        with self._cursor(write=True) as cur:
            cur.executemany(_UPSERT_METRICS, (_metric_params(r) for r in unique))
        return len(unique)

    def write_batch(self, batch: WriteBatch) -> Written:
        """Clear (if asked), rows and ground truth in one IMMEDIATE transaction."""
        unique = dedupe_rows(batch.rows)
        with self._cursor(write=True) as cur:
            cleared = _delete_window(cur, batch.start, batch.end) if batch.clear else 0
            cur.executemany(_UPSERT_METRICS, (_metric_params(r) for r in unique))
            cur.executemany(_UPSERT_INCIDENT, (_incident_params(i) for i in batch.incidents))
            cur.executemany(_UPSERT_HISTORY, (_rollup_params(r) for r in batch.rollups))
        return Written(len(unique), cleared)

    def query_history(self, server_id: str, start: int, end: int, limit: int,
                      after: int | None = None) -> list[Rollup]:
        """A server's hourly rollups in [start, end) (after ``after``), ordered by hour."""
        sql = (f"SELECT {_HISTORY} FROM server_metrics_history WHERE server_id = ? "
               "AND hour >= ? AND hour < ? AND hour > ? ORDER BY hour LIMIT ?")
        floor = after if after is not None else start - 1
        with self._cursor() as cur:
            rows = cur.execute(sql, (server_id, start, end, floor, limit)).fetchall()
        return [rollup_from_values(r[0], r[1], r[2], r[3:-1], r[-1]) for r in rows]

    def prune_history(self, cutoff: int) -> int:
        """Delete rollups of hours before ``cutoff``."""
        with self._cursor(write=True) as cur:
            return int(cur.execute("DELETE FROM server_metrics_history WHERE hour < ?",
                                   (cutoff,)).rowcount)

    def query_metrics(self, query: MetricQuery) -> list[MetricRow]:
        """Rows matching ``query`` ordered by (timestamp, server_id), at most ``query.limit``."""
        where, params = sql_where(query, SQLITE)
        sql = (
            f"SELECT {_COLUMNS} FROM daily_metrics{where} "
            "ORDER BY timestamp, server_id LIMIT ?"
        )
        with self._cursor() as cur:
            rows = cur.execute(sql, [*params, query.limit]).fetchall()
        return list(map(MetricRow._make, rows))

    def latest(self, server_ids: Sequence[str] | None = None) -> list[MetricRow]:
        """The newest row of each server (of ``server_ids`` when given), ordered by server id."""
        params: list[Any] = []
        where = ""
        if server_ids is not None:
            if not server_ids:
                return []
            where = f" WHERE server_id IN ({_marks(len(server_ids))})"
            params = list(server_ids)
        # the GROUP BY walks the (server_id, timestamp) unique index; MAX() per group is cheap
        sql = (
            f"SELECT {_M_COLUMNS} FROM daily_metrics m JOIN ("
            f"SELECT server_id, MAX(timestamp) AS ts FROM daily_metrics{where} GROUP BY server_id"
            ") newest ON m.server_id = newest.server_id AND m.timestamp = newest.ts "
            "ORDER BY m.server_id"
        )
        with self._cursor() as cur:
            return [_metric_row(r) for r in cur.execute(sql, params)]

    def delete_metrics(self, start: int, end: int) -> int:
        """Delete rows in [start, end) and incidents starting in it; returns metric rows deleted."""
        with self._cursor(write=True) as cur:
            return _delete_window(cur, start, end)

    def prune(self, cutoff: int) -> int:
        """Delete rows older than ``cutoff`` and incidents that ended before it; returns rows."""
        with self._cursor(write=True) as cur:
            deleted = cur.execute(
                "DELETE FROM daily_metrics WHERE timestamp < ?", (cutoff,)
            ).rowcount
            cur.execute("DELETE FROM scenario_execution_log WHERE ended_at < ?", (cutoff,))
        return deleted

    def upsert_incidents(self, incidents: Sequence[Incident]) -> int:
        """Insert or replace ground-truth records keyed on incident id."""
        if not incidents:
            return 0
        with self._cursor(write=True) as cur:
            cur.executemany(_UPSERT_INCIDENT, (_incident_params(i) for i in incidents))
        return len({i.id for i in incidents})

    def query_incidents(self, start: int, end: int) -> list[Incident]:
        """Incidents overlapping [start, end), ordered by start then id."""
        sql = (
            f"SELECT {_INCIDENT_COLUMNS} FROM scenario_execution_log "
            "WHERE started_at < ? AND ended_at > ? ORDER BY started_at, id"
        )
        with self._cursor() as cur:
            return [_incident(r) for r in cur.execute(sql, (end, start))]

    def upsert_templates(self, templates: Sequence[ServerTemplate]) -> int:
        """Insert or replace server templates keyed on id."""
        if not templates:
            return 0
        with self._cursor(write=True) as cur:
            cur.executemany(_UPSERT_TEMPLATE, (_template_params(t) for t in templates))
        return len({t.id for t in templates})

    def last_tick(self) -> int | None:
        """The newest stored timestamp, or None when empty."""
        with self._cursor() as cur:
            value = cur.execute("SELECT MAX(timestamp) FROM daily_metrics").fetchone()[0]
        return None if value is None else int(value)

    # -- the alert engine (the same tables and semantics as sql/007) -----------------------

    def load_alert_state(self) -> tuple[int, dict[str, Any]] | None:
        with self._cursor() as cur:
            row = cur.execute("SELECT version, state FROM alert_engine_state "
                              "WHERE id = 'engine'").fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def save_alert_state(self, state: dict[str, Any], expected: int,
                         last_tick: int | None) -> bool:
        document = json.dumps(state)
        with self._cursor(write=True) as cur:
            if expected == 0:
                cur.execute("INSERT INTO alert_engine_state (id, version, last_tick, state) "
                            "VALUES ('engine', 1, ?, ?) ON CONFLICT (id) DO NOTHING",
                            (last_tick, document))
            else:
                cur.execute(f"UPDATE alert_engine_state SET version = ?, last_tick = ?, "
                            f"state = ?, updated_at = {_NOW} "
                            "WHERE id = 'engine' AND version = ?",
                            (expected + 1, last_tick, document, expected))
            return cur.rowcount == 1

    def add_alert_records(self, outbox: Sequence[OutboxItem],
                          events: Sequence[AlertEvent]) -> int:
        with self._cursor(write=True) as cur:
            before = cur.execute("SELECT count(*) FROM alert_notifications").fetchone()[0]
            cur.executemany(
                "INSERT INTO alert_notifications (key, channel, group_key, status, at, payload)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, channel) DO NOTHING",
                [(i.key, i.channel, i.group_key, i.status, i.at, json.dumps(i.payload))
                 for i in outbox])
            cur.executemany(
                "INSERT INTO alert_history (fingerprint, at, to_state, from_state, server_id,"
                " severity, labels, value, group_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (fingerprint, at, to_state) DO NOTHING",
                [(e.fingerprint, e.at, e.to_state, e.from_state, e.server_id, e.severity,
                  json.dumps(e.labels), e.value, e.group_key) for e in events])
            after = cur.execute("SELECT count(*) FROM alert_notifications").fetchone()[0]
        return int(after - before)

    def pending_notifications(self, limit: int, max_attempts: int) -> list[OutboxItem]:
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT key, channel, group_key, status, at, payload, attempts, delivered_at,"
                " last_error FROM alert_notifications WHERE delivered_at IS NULL"
                " AND attempts < ? ORDER BY at, key, channel LIMIT ?",
                (max_attempts, limit)).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8])
                for r in rows]

    def record_delivery(self, key: str, channel: str, delivered_at: int | None,
                        error: str | None) -> bool:
        with self._cursor(write=True) as cur:
            cur.execute("UPDATE alert_notifications SET attempts = attempts + 1,"
                        " delivered_at = ?, last_error = ? WHERE key = ? AND channel = ?"
                        " AND delivered_at IS NULL", (delivered_at, error, key, channel))
            return cur.rowcount == 1

    def query_alert_history(self, server_id: str | None, severity: str | None, limit: int,
                            before: tuple[int, str] | None = None) -> list[AlertEvent]:
        clauses: list[str] = []
        params: list[Any] = []
        if server_id is not None:
            clauses.append("server_id = ?")
            params.append(server_id)
        if severity is not None:
            clauses.append("severity = ?")
            params.append(severity)
        if before is not None:
            clauses.append("(at < ? OR (at = ? AND fingerprint < ?))")
            params += [before[0], before[0], before[1]]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT fingerprint, at, to_state, from_state, server_id, severity, labels,"
                f" value, group_key FROM alert_history{where}"
                " ORDER BY at DESC, fingerprint DESC, to_state LIMIT ?",
                [*params, limit]).fetchall()
        return [AlertEvent(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8])
                for r in rows]

    def health(self) -> None:
        """Return when the file answers a trivial query on the metrics table."""
        with self._cursor() as cur:
            cur.execute("SELECT 1 FROM daily_metrics LIMIT 1").fetchall()

    def close(self) -> None:
        """Close the connection; later calls raise StoreError."""
        with self._lock:
            self._conn.close()


def _translate(exc: sqlite3.Error) -> StoreError:
    message = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and any(
        marker in message.lower() for marker in _UNAVAILABLE
    ):
        return StoreUnavailable(f"SQLite store unavailable: {message}")
    return StoreError(f"SQLite store error: {message}")


def _delete_window(cur: sqlite3.Cursor, start: int, end: int) -> int:
    """Delete rows in [start, end) and incidents starting in it; returns rows deleted."""
    deleted = cur.execute(
        "DELETE FROM daily_metrics WHERE timestamp >= ? AND timestamp < ?", (start, end)
    ).rowcount
    cur.execute(
        "DELETE FROM scenario_execution_log WHERE started_at >= ? AND started_at < ?",
        (start, end),
    )
    return int(deleted)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _rollup_params(rollup: Rollup) -> tuple[Any, ...]:
    return (rollup.server_id, rollup.start, rollup.samples, *rollup.values, rollup.status)


def _metric_params(row: MetricRow) -> tuple[Any, ...]:
    return (
        row.timestamp, row.server_id, row.cpu, row.memory, row.disk, row.response_time,
        row.network_rx, row.network_tx, row.connections, row.status,
    )


def _metric_row(r: Sequence[Any]) -> MetricRow:
    # _COLUMNS lists the columns in MetricRow's field order.
    return MetricRow._make(r)


def _incident_params(incident: Incident) -> tuple[Any, ...]:
    return (
        incident.id, incident.pattern, incident.origin, affected_to_json(incident),
        incident.intensity, incident.start, incident.end, incident.end - incident.start,
    )


def _incident(r: Sequence[Any]) -> Incident:
    return Incident(
        id=r[0], pattern=r[1], origin=r[2], affected=affected_from_json(r[3]),
        intensity=r[4], start=r[5], end=r[6],
    )


def _template_params(t: ServerTemplate) -> tuple[Any, ...]:
    return (
        t.id, t.name, t.hostname, t.role, t.location, t.environment, t.cpu_cores,
        t.memory_total_mb, t.disk_total_mb, services_to_json(t.services), t.platform,
    )

"""Supabase store: PostgreSQL behind PostgREST, through the ``supabase`` package.

Every request goes through one ``httpx.Client`` (yours, or one with HTTP/2 off and explicit
timeouts); postgrest's retries are off. Reads page past the 1,000-row cap by keyset, upserts
are chunked, a pipeline batch is one ``rpc/write_metrics_batch`` transaction, and PostgREST
and transport errors become StoreError / StoreUnavailable. The request shapes, in PostgREST
terms, are in docs/supabase-store.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import httpx
from postgrest import APIError, CountMethod, ReturnMethod, SyncSelectRequestBuilder
from postgrest.utils import sanitize_param
from supabase import Client, ClientOptions, SupabaseException, create_client

from lib.core import (
    METRIC_COLUMNS,
    STATUSES,
    ConfigError,
    FleetError,
    Incident,
    MetricRow,
    Rollup,
    ServerTemplate,
    StoreError,
    StoreUnavailable,
    format_iso,
    parse_instant,
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
from ._sql import HISTORY_COLUMNS
from .base import AlertEvent, MetricQuery, OutboxItem, WriteBatch, Written

__all__ = ["SupabaseStore"]

METRICS_TABLE = "daily_metrics"
HISTORY_TABLE = "server_metrics_history"
TEMPLATES_TABLE = "server_templates"
INCIDENTS_TABLE = "scenario_execution_log"

INCIDENT_COLUMNS = (
    "id",
    "pattern",
    "origin_server",
    "affected_servers",
    "intensity",
    "started_at",
    "ended_at",
    "duration_seconds",
)

PAGE_SIZE = 1000  # Supabase's default max-rows
CHUNK_SIZE = 500
LATEST_PAGE = 100  # rows per request of latest() when the servers are not named
CONNECT_TIMEOUT = 3.0  # an unreachable host should fail fast whatever the read timeout

Row = dict[str, Any]
Builder = SyncSelectRequestBuilder


class SupabaseStore:
    """MetricStore over Supabase's REST API (PostgREST). Writes need the service-role key."""

    name = "supabase"
    embedded = False

    def __init__(
        self,
        url: str,
        key: str,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 8.0,
        page_size: int = PAGE_SIZE,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        """Connect lazily (no request is sent here).

        ``http_client``, when given, carries every request and keeps its own timeouts
        (``timeout`` then does not apply); the store never closes it.
        """
        if page_size < 1 or chunk_size < 1:
            raise ValueError(
                f"page_size and chunk_size must be >= 1, got {page_size} and {chunk_size}"
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            http2=False, timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        )
        self._page_size = page_size
        self._chunk_size = chunk_size
        self._timeout = timeout
        try:
            self._client: Client = create_client(url, key, options=_options(self._http))
        except SupabaseException as exc:
            self.close()
            if "url" in exc.message.lower():
                raise ConfigError("SUPABASE_URL", f"{exc.message}: {url!r}") from exc
            raise ConfigError("SUPABASE_SERVICE_ROLE_KEY", exc.message) from exc

    # -- writes -----------------------------------------------------------------------------

    def upsert_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Upsert in chunks keyed on (server_id, timestamp); returns distinct rows written."""
        unique = dedupe_rows(rows)
        self._upsert(METRICS_TABLE, [r.as_dict() for r in unique], "server_id,timestamp")
        return len(unique)

    def upsert_incidents(self, incidents: Sequence[Incident]) -> int:
        """Upsert ground-truth records keyed on id."""
        unique = list({i.id: i for i in incidents}.values())
        self._upsert(INCIDENTS_TABLE, [incident_record(i) for i in unique], "id")
        return len(unique)

    def upsert_templates(self, templates: Sequence[ServerTemplate]) -> int:
        """Upsert server templates keyed on id."""
        unique = list({t.id: t for t in templates}.values())
        # merge-duplicates updates only the columns sent, so send updated_at (the SQL stores
        # set it to now() on conflict); the clock is this process's, not the database's
        updated_at = format_iso(int(time.time()))
        self._upsert(
            TEMPLATES_TABLE, [{**t.as_dict(), "updated_at": updated_at} for t in unique], "id"
        )
        return len(unique)

    def write_batch(self, batch: WriteBatch) -> Written:
        """One ``rpc/write_metrics_batch`` request (sql/005): one transaction in PostgreSQL."""
        unique = dedupe_rows(batch.rows)
        incidents = list({i.id: i for i in batch.incidents}.values())
        document = {
            "start": format_iso(batch.start), "end": format_iso(batch.end),
            "clear": batch.clear, "rows": [r.as_dict() for r in unique],
            "incidents": [incident_record(i) for i in incidents],
            "rollups": [rollup_record(r) for r in batch.rollups],
        }
        with _boundary("writing a batch"):
            data = self._client.rpc("write_metrics_batch", {"batch": document}).execute().data
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), int) for k in ("rows", "cleared")
        ):
            raise StoreError("Supabase answered write_metrics_batch with an unexpected body")
        return Written(len(unique), data["cleared"])

    # -- the alert engine: sql/007's functions over rpc, one request each -----------------

    def _function(self, name: str, request: Mapping[str, Any]) -> Any:
        with _boundary(f"calling {name}"):
            return self._client.rpc(name, {"request": dict(request)}).execute().data

    def load_alert_state(self) -> tuple[int, dict[str, Any]] | None:
        found = self._function("alert_state_load", {})
        if found is None:
            return None
        if not isinstance(found, dict) or "version" not in found or "state" not in found:
            raise StoreError("Supabase answered alert_state_load with an unexpected body")
        return int(found["version"]), dict(found["state"])

    def save_alert_state(self, state: dict[str, Any], expected: int,
                         last_tick: int | None) -> bool:
        return self._function("alert_state_save",
                              save_request(state, expected, last_tick)) is True

    def add_alert_records(self, outbox: Sequence[OutboxItem],
                          events: Sequence[AlertEvent]) -> int:
        if not outbox and not events:
            return 0
        added = self._function("alert_records_add", records_request(outbox, events))
        if not isinstance(added, dict) or not isinstance(added.get("notifications"), int):
            raise StoreError("Supabase answered alert_records_add with an unexpected body")
        return int(added["notifications"])

    def pending_notifications(self, limit: int, max_attempts: int) -> list[OutboxItem]:
        found = self._function("alert_pending", {"limit": limit, "max_attempts": max_attempts})
        return [from_outbox(r) for r in _records(found, "alert_pending")]

    def record_delivery(self, key: str, channel: str, delivered_at: int | None,
                        error: str | None) -> bool:
        return self._function("alert_delivery_record",
                              delivery_request(key, channel, delivered_at, error)) is True

    def query_alert_history(self, server_id: str | None, severity: str | None, limit: int,
                            before: tuple[int, str] | None = None) -> list[AlertEvent]:
        found = self._function("alert_history_page",
                               history_request(server_id, severity, limit, before))
        return [from_event(r) for r in _records(found, "alert_history_page")]

    def _deadline(self) -> Callable[[str], None]:
        """A check that fails an operation of several requests once ``timeout`` has passed."""
        stop = time.monotonic() + self._timeout

        def check(action: str) -> None:
            if time.monotonic() > stop:
                raise StoreUnavailable(f"Supabase: {action} took more than {self._timeout:g} s")

        return check

    def _upsert(self, table: str, rows: list[Row], on_conflict: str) -> None:
        check = self._deadline()
        for start in range(0, len(rows), self._chunk_size):
            check(f"writing {table}")
            request = self._client.table(table).upsert(
                rows[start : start + self._chunk_size],
                on_conflict=on_conflict,
                returning=ReturnMethod.minimal,
            )
            with _boundary(f"writing {table}"):
                request.execute()

    def delete_metrics(self, start: int, end: int) -> int:
        """Delete rows in [start, end) and incidents starting in it; returns rows deleted."""
        deleted = self._delete(
            self._client.table(METRICS_TABLE)
            .delete(count=CountMethod.exact, returning=ReturnMethod.minimal)
            .gte("timestamp", format_iso(start))
            .lt("timestamp", format_iso(end)),
            METRICS_TABLE,
        )
        self._delete(
            self._client.table(INCIDENTS_TABLE)
            .delete(count=CountMethod.exact, returning=ReturnMethod.minimal)
            .gte("started_at", format_iso(start))
            .lt("started_at", format_iso(end)),
            INCIDENTS_TABLE,
        )
        return deleted

    def prune(self, cutoff: int) -> int:
        """Delete rows older than ``cutoff`` and incidents that ended before it."""
        deleted = self._delete(
            self._client.table(METRICS_TABLE)
            .delete(count=CountMethod.exact, returning=ReturnMethod.minimal)
            .lt("timestamp", format_iso(cutoff)),
            METRICS_TABLE,
        )
        self._delete(
            self._client.table(INCIDENTS_TABLE)
            .delete(count=CountMethod.exact, returning=ReturnMethod.minimal)
            .lt("ended_at", format_iso(cutoff)),
            INCIDENTS_TABLE,
        )
        return deleted

    def _delete(self, request: Builder, table: str) -> int:
        with _boundary(f"deleting from {table}"):
            response = request.execute()
        if response.count is None:
            raise StoreError(f"Supabase sent no row count (Content-Range) deleting from {table}")
        return response.count

    # -- reads ------------------------------------------------------------------------------

    def query_metrics(self, query: MetricQuery) -> list[MetricRow]:
        """Rows matching ``query`` in (timestamp, server_id) order, paged past the row cap."""
        if query.limit <= 0 or query.server_ids == () or query.statuses == ():
            return []

        def build() -> Builder:
            request = self._client.table(METRICS_TABLE).select(",".join(METRIC_COLUMNS))
            if query.server_ids is not None:
                request = request.in_("server_id", query.server_ids)
            if query.start is not None:
                request = request.gte("timestamp", format_iso(query.start))
            if query.end is not None:
                request = request.lt("timestamp", format_iso(query.end))
            if query.statuses is not None:
                request = request.in_("status", query.statuses)
            return request

        after = None if query.after is None else (format_iso(query.after[0]), query.after[1])
        rows = self._keyset(build, ("timestamp", "server_id"), after, query.limit, METRICS_TABLE)
        return [_metric_from_json(row) for row in rows]

    def query_history(self, server_id: str, start: int, end: int, limit: int,
                      after: int | None = None) -> list[Rollup]:
        """A server's hourly rollups in [start, end) (after ``after``), ordered by hour."""
        if limit <= 0:
            return []

        def build() -> Builder:
            request = (self._client.table(HISTORY_TABLE)
                       .select("server_id,hour," + ",".join(HISTORY_COLUMNS))
                       .eq("server_id", server_id)
                       .gte("hour", format_iso(start)).lt("hour", format_iso(end)))
            return request.gt("hour", format_iso(after)) if after is not None else request

        rows = self._keyset(build, ("hour", "server_id"), None, limit, HISTORY_TABLE)
        return [_rollup_from_json(row) for row in rows]

    def prune_history(self, cutoff: int) -> int:
        """Delete rollups of hours before ``cutoff``."""
        return self._delete(
            self._client.table(HISTORY_TABLE)
            .delete(count=CountMethod.exact, returning=ReturnMethod.minimal)
            .lt("hour", format_iso(cutoff)),
            HISTORY_TABLE,
        )

    def query_incidents(self, start: int, end: int) -> list[Incident]:
        """Incidents overlapping [start, end), ordered by start then id."""

        def build() -> Builder:
            return (
                self._client.table(INCIDENTS_TABLE)
                .select(",".join(INCIDENT_COLUMNS))
                .lt("started_at", format_iso(end))
                .gt("ended_at", format_iso(start))
            )

        rows = self._keyset(build, ("started_at", "id"), None, None, INCIDENTS_TABLE)
        return [_incident_from_json(row) for row in rows]

    def latest(self, server_ids: Sequence[str] | None = None) -> list[MetricRow]:
        """The newest row of each server, ordered by server id (see the module docstring)."""
        wanted = None if server_ids is None else set(server_ids)
        found: dict[str, Row] = {}
        check = self._deadline()
        while wanted is None or wanted - found.keys():
            check(f"reading {METRICS_TABLE}")
            request = self._client.table(METRICS_TABLE).select(",".join(METRIC_COLUMNS))
            if wanted is not None:
                missing = sorted(wanted - found.keys())
                request, size = request.in_("server_id", missing), len(missing)
            else:
                if found:
                    request = request.not_.in_("server_id", sorted(found))
                size = LATEST_PAGE
            request = request.order("timestamp", desc=True).order("server_id").limit(size)
            page = self._rows(request, METRICS_TABLE)
            for row in page:
                found.setdefault(str(row["server_id"]), row)
            if len(page) < size:
                break
        return [_metric_from_json(found[sid]) for sid in sorted(found)]

    def last_tick(self) -> int | None:
        """The newest stored timestamp, or None when the table is empty."""
        request = (
            self._client.table(METRICS_TABLE)
            .select("timestamp")
            .order("timestamp", desc=True)
            .limit(1)
        )
        rows = self._rows(request, METRICS_TABLE)
        return _epoch(rows[0]["timestamp"], METRICS_TABLE) if rows else None

    def health(self) -> None:
        """One tiny read; StoreUnavailable with the reason when it fails for any reason."""
        request = self._client.table(METRICS_TABLE).select("id").limit(1)
        try:
            self._rows(request, METRICS_TABLE)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def close(self) -> None:
        """Close the HTTP client when the store built it (an injected one stays open)."""
        if self._owns_http:
            self._http.close()

    # -- paging -----------------------------------------------------------------------------

    def _keyset(
        self,
        build: Callable[[], Builder],
        keys: tuple[str, str],
        after: tuple[str, str] | None,
        limit: int | None,
        table: str,
    ) -> list[Row]:
        """Every row of ``build()`` ordered by ``keys`` (after ``after``), up to ``limit``."""
        rows: list[Row] = []
        check = self._deadline()
        while limit is None or len(rows) < limit:
            check(f"reading {table}")
            size = self._page_size if limit is None else min(self._page_size, limit - len(rows))
            request = build()
            if after is not None:
                request = request.or_(_after_filter(keys, after))
            request = request.order(keys[0]).order(keys[1]).limit(size)
            page = self._rows(request, table)
            rows.extend(page)
            if len(page) < size:
                break
            last = page[-1]
            # re-format the time so the cursor reads the same whatever offset PostgREST used
            after = (format_iso(_epoch(last[keys[0]], table)), str(last[keys[1]]))
        return rows

    def _rows(self, request: Builder, table: str) -> list[Row]:
        with _boundary(f"reading {table}"):
            data = request.execute().data
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise StoreError(f"Supabase answered a read of {table} with something not a row list")
        return cast(list[Row], data)


def _options(http: httpx.Client) -> ClientOptions:
    # A server-side client: no session to persist or refresh (both would start auth work).
    return ClientOptions(
        httpx_client=http,
        postgrest_client_retry=False,
        auto_refresh_token=False,
        persist_session=False,
    )


def _after_filter(keys: tuple[str, str], after: tuple[str, str]) -> str:
    """PostgREST logic tree for "strictly after (first, second)" in (first, second) order."""
    first, second = (sanitize_param(value) for value in after)
    return f"{keys[0]}.gt.{first},and({keys[0]}.eq.{first},{keys[1]}.gt.{second})"


# -- translation of rows ----------------------------------------------------------------------


def _records(found: object, function: str) -> list[dict[str, Any]]:
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise StoreError(f"Supabase answered {function} with an unexpected body")
    return cast(list[dict[str, Any]], found)


def _epoch(value: object, table: str) -> int:
    try:
        return parse_instant(str(value), "timestamp")
    except FleetError as exc:
        raise StoreError(f"malformed timestamp {value!r} in {table}") from exc


def _metric_from_json(row: Row) -> MetricRow:
    try:
        status = str(row["status"])
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        response_time = row["response_time"]
        return MetricRow(
            timestamp=_epoch(row["timestamp"], METRICS_TABLE),
            server_id=str(row["server_id"]),
            cpu=float(row["cpu"]),
            memory=float(row["memory"]),
            disk=float(row["disk"]),
            response_time=None if response_time is None else int(response_time),
            network_rx=float(row["network_rx"]),
            network_tx=float(row["network_tx"]),
            connections=int(row["connections"]),
            status=status,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"malformed row in {METRICS_TABLE}: {exc!r}") from exc


def _rollup_from_json(row: Row) -> Rollup:
    try:
        return rollup_from_values(str(row["server_id"]), _epoch(row["hour"], HISTORY_TABLE),
                                  int(row["samples"]), [row[c] for c in HISTORY_COLUMNS[1:-1]],
                                  str(row["status"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"malformed row in {HISTORY_TABLE}: {exc!r}") from exc


def _incident_from_json(row: Row) -> Incident:
    try:
        return Incident(
            id=str(row["id"]),
            pattern=str(row["pattern"]),
            origin=str(row["origin_server"]),
            start=_epoch(row["started_at"], INCIDENTS_TABLE),
            end=_epoch(row["ended_at"], INCIDENTS_TABLE),
            intensity=float(row["intensity"]),
            affected=affected_from_json(row["affected_servers"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"malformed row in {INCIDENTS_TABLE}: {exc!r}") from exc


# -- translation of errors --------------------------------------------------------------------

# SQLSTATE classes that mean "the database is not able to answer now", not "your request is
# wrong": connection exception, insufficient resources, operator intervention (includes
# statement timeout), system error, internal error.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58", "XX")
# The table or a column is unknown: the migrations in sql/ have not been applied.
_MISSING_SCHEMA_CODES = ("42P01", "42703", "PGRST204", "PGRST205")


@contextmanager
def _boundary(action: str) -> Iterator[None]:
    """Translate PostgREST and httpx failures of ``action`` into the project's errors."""
    try:
        yield
    except APIError as exc:
        raise _from_api_error(exc, action) from exc
    except httpx.TimeoutException as exc:
        raise StoreUnavailable(
            f"Supabase did not answer in time while {action} ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        raise StoreUnavailable(
            f"cannot reach Supabase while {action}: {type(exc).__name__}: {exc}"
        ) from exc
    except httpx.HTTPError as exc:
        raise StoreError(f"HTTP failure while {action}: {type(exc).__name__}: {exc}") from exc


def _from_api_error(exc: APIError, action: str) -> StoreError:
    """Classify by the error code: postgrest-py's APIError does not carry the HTTP status.

    Its code is a PostgREST code (PGRSTnnn), a SQLSTATE, the HTTP status itself when the body
    was not PostgREST JSON (a proxy's error page), or absent when Supabase's API gateway
    answered (e.g. "Invalid API key") before PostgREST was reached.
    """
    code = exc.code or ""
    # SQLSTATEs have five characters, often all digits (23505); HTTP statuses have three
    status = int(code) if len(code) == 3 and code.isdigit() else None
    detail = "; ".join(
        str(part) for part in (exc.code, exc.message, exc.details, exc.hint) if part
    )
    if status in (401, 403) or code == "42501" or code.startswith("PGRST3"):
        return StoreUnavailable(
            f"Supabase refused the credentials while {action} ({detail}); check SUPABASE_URL "
            "and that the service-role key is used (the anon key may only read)"
        )
    if not code:
        return StoreUnavailable(
            f"Supabase's API gateway refused {action} ({detail or 'no details'}); "
            "check SUPABASE_URL and the key"
        )
    if (status is not None and (status >= 500 or status == 429)) or code.startswith("PGRST0"):
        return StoreUnavailable(f"Supabase is unavailable while {action}: {detail}")
    if code[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
        return StoreUnavailable(f"Supabase's database failed while {action}: {detail}")
    if code in _MISSING_SCHEMA_CODES:
        return StoreError(
            f"Supabase schema mismatch while {action}: {detail}; apply the migrations in sql/"
        )
    return StoreError(f"Supabase rejected {action}: {detail}")

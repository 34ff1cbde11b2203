"""The store contract: every MetricStore backend must pass every test here.

The ``store`` fixture is parametrised over sqlite (a temp file), postgres (the real test
PostgreSQL, emptied before each test) and supabase (SupabaseStore talking to a PostgREST
emulator in front of that same PostgreSQL).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest

from lib.core import (
    ROLLUP_METRICS,
    ROLLUP_STATS,
    AffectedServer,
    Incident,
    MetricRow,
    Rollup,
    Status,
    StoreError,
    StoreUnavailable,
)
from lib.sim import get_fleet
from lib.store import AlertEvent, MetricQuery, MetricStore, OutboxItem, WriteBatch, Written
from lib.store.postgres import PostgresStore, libpq_dsn
from lib.store.sqlite import SQLiteStore
from tests.services.postgres import PostgresServer, create_database

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
TICK = 600
SERVERS = ("api-01", "db-01", "web-01", "web-02")


@dataclass
class Backend:
    """A store under test, a direct way to count rows in its tables, and a way to make the
    database itself refuse ground-truth writes (a trigger), as a crash mid-batch would."""

    store: MetricStore
    count: Callable[[str], int]
    refuse_incidents: Callable[[], None]


_SQLITE_REFUSE = """
CREATE TRIGGER refuse_incidents BEFORE INSERT ON scenario_execution_log
BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
"""
_POSTGRES_REFUSE = """
CREATE OR REPLACE FUNCTION refuse_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
DROP TRIGGER IF EXISTS refuse_incidents ON scenario_execution_log;
CREATE TRIGGER refuse_incidents BEFORE INSERT ON scenario_execution_log
FOR EACH ROW EXECUTE FUNCTION refuse_incidents();
"""


def _sqlite_refusal(path: str) -> Callable[[], None]:
    def refuse() -> None:
        with sqlite3.connect(path) as conn:
            conn.executescript(_SQLITE_REFUSE)

    return refuse


def _postgres_refusal(dsn: str) -> Callable[[], None]:
    def refuse() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(_POSTGRES_REFUSE)

    return refuse


def _sqlite_counter(path: str) -> Callable[[str], int]:
    def count(table: str) -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    return count


def _postgres_counter(dsn: str) -> Callable[[str], int]:
    def count(table: str) -> int:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            return int(row[0])

    return count


def _supabase_store(dsn: str) -> MetricStore:
    try:
        from tests.services.postgrest import make_supabase_store
    except ModuleNotFoundError as exc:
        if exc.name != "tests.services.postgrest":
            raise
        pytest.skip("supabase emulator not written yet")
    store: MetricStore = make_supabase_store(dsn)
    return store


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = str(tmp_path_factory.mktemp("sqlite") / "store.sqlite3")
        result = Backend(SQLiteStore(path), _sqlite_counter(path), _sqlite_refusal(path))
    else:
        dsn = request.getfixturevalue("clean_postgres_dsn")
        store = PostgresStore(dsn) if request.param == "postgres" else _supabase_store(dsn)
        result = Backend(store, _postgres_counter(dsn), _postgres_refusal(dsn))
    yield result
    result.store.close()
    if request.param != "sqlite":
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TRIGGER IF EXISTS refuse_incidents ON scenario_execution_log")


@pytest.fixture
def store(backend: Backend) -> MetricStore:
    return backend.store


def metric(tick: int, server_id: str, **changes: object) -> MetricRow:
    """A row with distinct two-decimal values derived from (tick, server)."""
    n = SERVERS.index(server_id) if server_id in SERVERS else len(server_id)
    statuses: tuple[Status, ...] = ("healthy", "healthy", "warning", "critical")
    row = MetricRow(
        timestamp=T0 + tick * TICK,
        server_id=server_id,
        cpu=round((10 + tick * 1.37 + n * 3.11) % 100, 2),
        memory=round(40.25 + n * 7.5 + tick * 0.13, 2),
        disk=round(55.5 + tick * 0.01, 2),
        response_time=None if (tick + n) % 7 == 3 else 100 + tick * 3 + n,
        network_rx=round(1234.56 + tick * 10.01, 2),
        network_tx=round(987.65 + n * 2.02, 2),
        connections=50 + tick + n,
        status=statuses[(tick + n) % 4],
    )
    return row._replace(**changes)  # type: ignore[arg-type]


def grid(ticks: int, servers: tuple[str, ...] = SERVERS) -> list[MetricRow]:
    return [metric(t, s) for t in range(ticks) for s in servers]


def ordered(rows: list[MetricRow]) -> list[MetricRow]:
    return sorted(rows, key=lambda r: (r.timestamp, r.server_id))


def everything(store: MetricStore) -> list[MetricRow]:
    return store.query_metrics(MetricQuery(limit=100_000))


def incident(
    incident_id: str, start: int, end: int, *, pattern: str = "cpu_spike", intensity: float = 0.75
) -> Incident:
    return Incident(
        id=incident_id,
        pattern=pattern,
        origin="db-01",
        start=start,
        end=end,
        intensity=intensity,
        affected=(AffectedServer("db-01", start), AffectedServer("api-01", start + TICK)),
    )


# -- the protocol ---------------------------------------------------------------------------


def test_store_satisfies_the_protocol(store: MetricStore) -> None:
    assert isinstance(store, MetricStore)
    assert isinstance(store.name, str) and store.name


def test_health_returns_when_the_store_answers(store: MetricStore) -> None:
    store.health()  # returns (raising nothing) when the store answers


# -- writing and reading back ---------------------------------------------------------------


def test_upsert_then_query_returns_the_same_values(store: MetricStore) -> None:
    rows = grid(12)
    assert store.upsert_metrics(rows) == len(rows)
    assert everything(store) == ordered(rows)


def test_missing_response_time_round_trips_as_none(store: MetricStore) -> None:
    row = metric(0, "web-01", response_time=None)
    store.upsert_metrics([row])
    assert everything(store) == [row]


def test_values_are_kept_to_two_decimals(store: MetricStore) -> None:
    row = metric(0, "web-01", cpu=12.344, memory=12.346, disk=99.999, network_rx=1234.567)
    store.upsert_metrics([row])
    (stored,) = everything(store)
    assert (stored.cpu, stored.memory, stored.disk, stored.network_rx) == (
        12.34, 12.35, 100.0, 1234.57,
    )


def test_integers_in_float_columns_read_back_as_floats(store: MetricStore) -> None:
    # collectors parsing JSON hand over 50 where 50.0 is meant
    store.upsert_metrics([metric(0, "web-01", cpu=50, network_rx=0), metric(0, "web-02")])
    stored = everything(store)[0]
    assert (stored.cpu, stored.network_rx) == (50.0, 0.0)
    assert isinstance(stored.cpu, float) and isinstance(stored.network_rx, float)


def test_upsert_of_nothing_writes_nothing(backend: Backend) -> None:
    assert backend.store.upsert_metrics([]) == 0
    assert backend.count("daily_metrics") == 0


def test_query_orders_by_timestamp_then_server_id(store: MetricStore) -> None:
    rows = grid(6)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    store.upsert_metrics(shuffled)
    keys = [(r.timestamp, r.server_id) for r in everything(store)]
    assert keys == sorted((r.timestamp, r.server_id) for r in rows)


def test_query_filters_by_server_ids(store: MetricStore) -> None:
    store.upsert_metrics(grid(5))
    found = store.query_metrics(MetricQuery(server_ids=("web-02", "db-01")))
    assert found == ordered([metric(t, s) for t in range(5) for s in ("db-01", "web-02")])


def test_query_time_window_is_half_open(store: MetricStore) -> None:
    store.upsert_metrics(grid(10))
    found = store.query_metrics(MetricQuery(start=T0 + 3 * TICK, end=T0 + 6 * TICK))
    assert found == ordered([metric(t, s) for t in (3, 4, 5) for s in SERVERS])


def test_query_open_ended_windows(store: MetricStore) -> None:
    store.upsert_metrics(grid(10))
    since = store.query_metrics(MetricQuery(start=T0 + 8 * TICK))
    until = store.query_metrics(MetricQuery(end=T0 + 2 * TICK))
    assert {r.timestamp for r in since} == {T0 + 8 * TICK, T0 + 9 * TICK}
    assert {r.timestamp for r in until} == {T0, T0 + TICK}


def test_query_filters_by_status(store: MetricStore) -> None:
    rows = grid(8)
    store.upsert_metrics(rows)
    critical = store.query_metrics(MetricQuery(statuses=("critical",)))
    bad = store.query_metrics(MetricQuery(statuses=("warning", "critical")))
    assert critical == ordered([r for r in rows if r.status == "critical"])
    assert bad == ordered([r for r in rows if r.status != "healthy"])
    assert len(critical) == 8


def test_query_combines_filters(store: MetricStore) -> None:
    rows = grid(10)
    store.upsert_metrics(rows)
    query = MetricQuery(
        server_ids=("web-01", "api-01"), start=T0 + 2 * TICK, end=T0 + 9 * TICK,
        statuses=("healthy",),
    )
    expected = [
        r for r in rows
        if r.server_id in ("web-01", "api-01") and 2 <= (r.timestamp - T0) // TICK < 9
        and r.status == "healthy"
    ]
    assert expected
    assert store.query_metrics(query) == ordered(expected)


def test_query_honours_limit(store: MetricStore) -> None:
    rows = grid(10)
    store.upsert_metrics(rows)
    assert store.query_metrics(MetricQuery(limit=5)) == ordered(rows)[:5]
    assert store.query_metrics(MetricQuery(limit=1)) == ordered(rows)[:1]


def test_query_of_empty_store_is_empty(store: MetricStore) -> None:
    assert everything(store) == []


@pytest.mark.parametrize("page_size", [1, 7, 16, 1000])
def test_keyset_paging_returns_every_row_exactly_once(store: MetricStore, page_size: int) -> None:
    rows = grid(20)
    store.upsert_metrics(rows)
    pages: list[list[MetricRow]] = []
    after: tuple[int, str] | None = None
    while True:
        page = store.query_metrics(MetricQuery(limit=page_size, after=after))
        if not page:
            break
        assert len(page) <= page_size
        pages.append(page)
        after = (page[-1].timestamp, page[-1].server_id)
    assert [r for page in pages for r in page] == ordered(rows)
    assert len(pages) == -(-len(rows) // page_size)


def test_keyset_paging_respects_filters(store: MetricStore) -> None:
    rows = grid(20)
    store.upsert_metrics(rows)
    base = MetricQuery(start=T0 + 5 * TICK, end=T0 + 15 * TICK, statuses=("warning", "critical"))
    seen: list[MetricRow] = []
    after: tuple[int, str] | None = None
    while page := store.query_metrics(replace(base, limit=3, after=after)):
        seen.extend(page)
        after = (page[-1].timestamp, page[-1].server_id)
    assert seen == store.query_metrics(replace(base, limit=1000))
    assert len(seen) == 20


def test_cursor_inside_one_tick_continues_with_the_next_server(store: MetricStore) -> None:
    store.upsert_metrics(grid(3))
    page = store.query_metrics(MetricQuery(limit=2, after=(T0 + TICK, "db-01")))
    assert [(r.timestamp, r.server_id) for r in page] == [
        (T0 + TICK, "web-01"), (T0 + TICK, "web-02"),
    ]


# -- latest ---------------------------------------------------------------------------------


def test_latest_returns_the_newest_row_of_each_server(store: MetricStore) -> None:
    rows = [*grid(6), metric(9, "db-01")]
    store.upsert_metrics(rows)
    assert store.latest() == [
        metric(5, "api-01"), metric(9, "db-01"), metric(5, "web-01"), metric(5, "web-02"),
    ]


def test_latest_for_chosen_servers_ignores_unknown_ones(store: MetricStore) -> None:
    store.upsert_metrics(grid(4))
    assert store.latest(["web-02", "api-01", "nope-99"]) == [
        metric(3, "api-01"), metric(3, "web-02"),
    ]
    assert store.latest([]) == []


def test_latest_of_empty_store_is_empty(store: MetricStore) -> None:
    assert store.latest() == []


# -- idempotency ----------------------------------------------------------------------------


def test_same_batch_twice_stores_it_once(backend: Backend) -> None:
    rows = grid(6)
    assert backend.store.upsert_metrics(rows) == len(rows)
    assert backend.store.upsert_metrics(rows) == len(rows)
    assert backend.count("daily_metrics") == len(rows)
    assert everything(backend.store) == ordered(rows)


def test_overlapping_batches_keep_one_row_per_tick_with_the_later_values(
    backend: Backend,
) -> None:
    first = grid(6)  # ticks 0..5
    second = [r._replace(cpu=99.99, status="critical") for r in grid(10)[4 * len(SERVERS):]]
    backend.store.upsert_metrics(first)
    backend.store.upsert_metrics(second)  # ticks 4..9, overlapping on 4 and 5
    stored = everything(backend.store)
    assert backend.count("daily_metrics") == 10 * len(SERVERS)
    assert stored == ordered(first[: 4 * len(SERVERS)] + second)


def test_repeated_key_within_one_batch_keeps_the_last(backend: Backend) -> None:
    old = metric(0, "web-01")
    new = old._replace(cpu=1.23, response_time=None, status="warning")
    assert backend.store.upsert_metrics([old, metric(0, "web-02"), new]) == 2
    assert everything(backend.store) == [new, metric(0, "web-02")]


# -- removal --------------------------------------------------------------------------------


def test_prune_removes_exactly_the_rows_older_than_the_cutoff(store: MetricStore) -> None:
    store.upsert_metrics(grid(10))
    cutoff = T0 + 4 * TICK
    assert store.prune(cutoff) == 4 * len(SERVERS)
    remaining = everything(store)
    assert remaining == ordered(grid(10)[4 * len(SERVERS):])
    assert store.prune(cutoff) == 0


def test_prune_removes_incidents_that_ended_before_the_cutoff(store: MetricStore) -> None:
    cutoff = T0 + 10 * TICK
    store.upsert_incidents([
        incident("ended-before", T0, cutoff - 1),
        incident("ends-at-cutoff", T0, cutoff),
        incident("still-running", T0 + TICK, cutoff + TICK),
    ])
    store.prune(cutoff)
    ids = [i.id for i in store.query_incidents(T0 - 86_400, T0 + 86_400)]
    assert ids == ["ends-at-cutoff", "still-running"]


def test_delete_metrics_removes_the_half_open_window(store: MetricStore) -> None:
    rows = grid(10)
    store.upsert_metrics(rows)
    assert store.delete_metrics(T0 + 2 * TICK, T0 + 5 * TICK) == 3 * len(SERVERS)
    kept = [r for r in rows if not 2 <= (r.timestamp - T0) // TICK < 5]
    assert everything(store) == ordered(kept)


def test_delete_metrics_removes_incidents_starting_in_the_window(store: MetricStore) -> None:
    store.upsert_incidents([
        incident("before", T0 - TICK, T0 + 3 * TICK),
        incident("inside", T0 + TICK, T0 + 20 * TICK),
        incident("at-end", T0 + 5 * TICK, T0 + 6 * TICK),
    ])
    store.delete_metrics(T0, T0 + 5 * TICK)
    ids = [i.id for i in store.query_incidents(T0 - 86_400, T0 + 86_400)]
    assert ids == ["before", "at-end"]


# -- last tick ------------------------------------------------------------------------------


def test_last_tick_is_none_when_empty_then_the_newest_timestamp(store: MetricStore) -> None:
    assert store.last_tick() is None
    store.upsert_metrics(grid(3))
    store.upsert_metrics([metric(40, "web-02")])
    assert store.last_tick() == T0 + 40 * TICK


# -- ground truth ---------------------------------------------------------------------------


def test_incidents_round_trip(store: MetricStore) -> None:
    record = Incident(
        id="2024-01-01-cascade_failure-db-01",
        pattern="cascade_failure",
        origin="db-01",
        start=T0 + 3 * TICK,
        end=T0 + 21 * TICK,
        intensity=0.7312345678901234,
        affected=(
            AffectedServer("db-01", T0 + 3 * TICK),
            AffectedServer("api-02", T0 + 5 * TICK),
            AffectedServer("web-01", T0 + 6 * TICK),
        ),
    )
    assert store.upsert_incidents([record]) == 1
    assert store.query_incidents(T0, T0 + 86_400) == [record]


def test_incident_query_returns_those_overlapping_the_window(store: MetricStore) -> None:
    store.upsert_incidents([
        incident("b-ends-at-start", T0 - 6 * TICK, T0),
        incident("c-spans-the-start", T0 - 6 * TICK, T0 + TICK),
        incident("d-inside", T0 + 2 * TICK, T0 + 3 * TICK),
        incident("a-spans-everything", T0 - 9 * TICK, T0 + 99 * TICK),
        incident("e-starts-at-end", T0 + 10 * TICK, T0 + 12 * TICK),
        incident("f-crosses-the-end", T0 + 9 * TICK, T0 + 12 * TICK),
    ])
    found = store.query_incidents(T0, T0 + 10 * TICK)
    assert [i.id for i in found] == [
        "a-spans-everything", "c-spans-the-start", "d-inside", "f-crosses-the-end",
    ]


def test_incidents_with_equal_start_are_ordered_by_id(store: MetricStore) -> None:
    store.upsert_incidents([incident("zeta", T0, T0 + TICK), incident("alpha", T0, T0 + TICK)])
    assert [i.id for i in store.query_incidents(T0, T0 + TICK)] == ["alpha", "zeta"]


def test_incident_upsert_replaces_by_id(backend: Backend) -> None:
    first = incident("x", T0, T0 + TICK)
    second = incident("x", T0 + TICK, T0 + 5 * TICK, pattern="db_lock", intensity=1.5)
    backend.store.upsert_incidents([first])
    assert backend.store.upsert_incidents([second]) == 1
    assert backend.store.query_incidents(T0 - 86_400, T0 + 86_400) == [second]
    assert backend.count("scenario_execution_log") == 1


# -- templates ------------------------------------------------------------------------------


def test_templates_upsert_twice_keeps_one_row_each(backend: Backend) -> None:
    templates = get_fleet("default").servers
    assert backend.store.upsert_templates(templates) == 20
    assert backend.store.upsert_templates(templates) == 20
    assert backend.count("server_templates") == 20
    assert backend.store.upsert_templates([]) == 0


# -- concurrency ----------------------------------------------------------------------------


def test_store_can_be_shared_by_worker_threads(store: MetricStore) -> None:
    # the API calls one store from its thread pool; writes and reads must interleave safely
    batches = [grid(12)[i::4] for i in range(4)]

    def work(batch: list[MetricRow]) -> int:
        written = store.upsert_metrics(batch)
        store.latest()
        store.query_metrics(MetricQuery(limit=10))
        return written

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(work, batches)) == 12 * len(SERVERS)
    assert everything(store) == ordered(grid(12))


# -- backend-specific failure translation ---------------------------------------------------


def test_postgres_unreachable_raises_store_unavailable() -> None:
    # port 1 on localhost: nothing listens there, the connection is refused at once
    store = PostgresStore("postgresql://nobody@127.0.0.1:1/none", timeout=2)
    with pytest.raises(StoreUnavailable):
        store.health()
    with pytest.raises(StoreUnavailable):
        store.latest()


def test_postgres_without_schema_raises_store_error_naming_migrations(
    postgres_server: PostgresServer,
) -> None:
    store = PostgresStore(create_database(postgres_server, "fleet_no_schema"))
    with pytest.raises(StoreError, match="migrations") as caught:
        store.health()
    assert not isinstance(caught.value, StoreUnavailable)
    store.close()


def test_postgres_reconnects_after_the_connection_dies(
    clean_postgres_dsn: str,
) -> None:
    store = PostgresStore(clean_postgres_dsn)
    store.upsert_metrics(grid(1))
    with psycopg.connect(clean_postgres_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'fleet-metrics'"
        )
    # the stale connection is replaced and the read retried once, transparently
    assert store.last_tick() == T0
    store.close()


def test_libpq_dsn_drops_parameters_libpq_rejects() -> None:
    dsn = "postgres://u:p@pooler.example.com:6543/postgres?sslmode=require&supa=base-pooler.x&pgbouncer=true"
    assert libpq_dsn(dsn) == "postgres://u:p@pooler.example.com:6543/postgres?sslmode=require"
    assert libpq_dsn("host=/tmp dbname=x") == "host=/tmp dbname=x"


def test_sqlite_in_an_unwritable_place_raises_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        SQLiteStore("/proc/fleet/metrics.sqlite3")


def test_two_sqlite_stores_share_one_file(tmp_path: Path) -> None:
    # the CLI and a local API server may open the same file at once (WAL allows it)
    path = str(tmp_path / "shared.sqlite3")
    writer, reader = SQLiteStore(path), SQLiteStore(path)
    writer.upsert_metrics(grid(2))
    assert reader.last_tick() == T0 + TICK
    assert reader.latest() == [metric(1, s) for s in sorted(SERVERS)]
    writer.close()
    reader.close()


def test_sqlite_store_after_close_raises_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "s.sqlite3"))
    store.close()
    with pytest.raises(StoreError):
        store.last_tick()


# -- one batch, one transaction ---------------------------------------------------------------


def test_write_batch_writes_rows_and_ground_truth(backend: Backend) -> None:
    rows = grid(6)
    truth = [incident("a", T0, T0 + 3 * TICK), incident("b", T0 + TICK, T0 + 9 * TICK)]
    written = backend.store.write_batch(WriteBatch(T0, T0 + 6 * TICK, rows, truth))
    assert written == Written(len(rows), 0)
    assert everything(backend.store) == ordered(rows)
    assert backend.store.query_incidents(T0, T0 + 86_400) == truth


def test_write_batch_with_clear_replaces_the_window(backend: Backend) -> None:
    store = backend.store
    store.write_batch(WriteBatch(T0, T0 + 6 * TICK, grid(6), [incident("old", T0, T0 + TICK)]))
    newer = [metric(t, "web-01", cpu=1.0) for t in range(2, 4)]
    written = store.write_batch(WriteBatch(T0, T0 + 6 * TICK, newer,
                                           [incident("new", T0, T0 + TICK)], clear=True))
    assert written == Written(2, 6 * len(SERVERS))
    assert everything(store) == newer
    assert [i.id for i in store.query_incidents(T0, T0 + 86_400)] == ["new"]


def test_failed_batch_leaves_rows_ground_truth_and_the_clear_undone(backend: Backend) -> None:
    store = backend.store
    before_rows, before_truth = grid(6), [incident("old", T0, T0 + TICK)]
    store.write_batch(WriteBatch(T0, T0 + 6 * TICK, before_rows, before_truth))
    backend.refuse_incidents()  # the database fails the batch at its last statement
    for clear in (False, True):
        changed = [metric(t, s, cpu=2.0) for t in range(8) for s in SERVERS]
        with pytest.raises(StoreError):
            store.write_batch(WriteBatch(T0, T0 + 8 * TICK, changed,
                                         [incident("new", T0, T0 + TICK)], clear=clear))
        assert everything(store) == ordered(before_rows)
        assert store.query_incidents(T0, T0 + 86_400) == before_truth


# -- hourly history ------------------------------------------------------------------------------


def rollup(server_id: str, hour: int, cpu: float, *, status: Status = "healthy") -> Rollup:
    values = tuple(None if m == "response_time" else round(cpu + i + 0.25 * k, 2)
                   for i, m in enumerate(ROLLUP_METRICS) for k in range(len(ROLLUP_STATS)))
    return Rollup(server_id, T0 + hour * 3600, 6, values, status)


def test_history_round_trips_in_hour_order_per_server(store: MetricStore) -> None:
    written = [rollup("web-01", h, 10.5 + h) for h in (2, 0, 1)] + [rollup("db-01", 0, 3.0)]
    store.write_batch(WriteBatch(T0, T0 + 86_400, [], [], rollups=written))
    assert store.query_history("web-01", T0, T0 + 86_400, 10) == sorted(
        written[:3], key=lambda r: r.start)
    assert store.query_history("db-01", T0, T0 + 3600, 10) == [written[3]]
    assert store.query_history("web-01", T0 + 3600, T0 + 7200, 10) == [written[2]]


def test_history_pages_by_hour(store: MetricStore) -> None:
    written = [rollup("api-01", h, 20.0 + h, status="warning") for h in range(30)]
    store.write_batch(WriteBatch(T0, T0 + 2 * 86_400, [], [], rollups=written))
    first = store.query_history("api-01", T0, T0 + 2 * 86_400, 12)
    rest = store.query_history("api-01", T0, T0 + 2 * 86_400, 100, after=first[-1].start)
    assert first + rest == written


def test_history_upsert_replaces_an_hour_and_prune_counts(backend: Backend) -> None:
    store = backend.store
    store.write_batch(WriteBatch(T0, T0 + 86_400, [], [],
                                 rollups=[rollup("web-01", h, 1.0) for h in range(5)]))
    newer = rollup("web-01", 3, 9.0, status="critical")
    store.write_batch(WriteBatch(T0, T0 + 86_400, [], [], rollups=[newer]))
    assert backend.count("server_metrics_history") == 5
    assert store.query_history("web-01", T0 + 3 * 3600, T0 + 4 * 3600, 5) == [newer]
    assert store.prune_history(T0 + 2 * 3600) == 2
    assert [r.start for r in store.query_history("web-01", T0, T0 + 86_400, 9)] == [
        T0 + h * 3600 for h in (2, 3, 4)]


# -- the alert engine's state (sql/007) ---------------------------------------------------------

def outbox(key: str, channel: str = "webhook", at: int = T0) -> OutboxItem:
    return OutboxItem(key, channel, key.split(":")[0], "firing", at,
                      {"group_key": key.split(":")[0], "servers": ["db-01", "api-01"],
                       "value": 93.25, "nested": {"ok": True}})


def event(fp: str, at: int, to_state: str = "firing", server: str = "db-01") -> AlertEvent:
    return AlertEvent(fp, at, to_state, "pending", server, "critical",
                      {"alertname": "CpuCritical", "server_id": server}, 91.5, "g1")


def test_alert_state_is_written_only_by_compare_and_set(store: MetricStore) -> None:
    assert store.load_alert_state() is None
    first = {"last_tick": T0, "alerts": {"a1": {"state": "firing", "value": 1.5}}}
    assert store.save_alert_state(first, 0, T0) is True
    assert store.save_alert_state(first, 0, T0) is False      # already created
    assert store.load_alert_state() == (1, first)
    second = {**first, "last_tick": T0 + TICK}
    assert store.save_alert_state(second, 1, T0 + TICK) is True
    assert store.save_alert_state({"stale": True}, 1, T0 + TICK) is False  # lost the race
    assert store.load_alert_state() == (2, second)


def test_concurrent_saves_of_one_version_let_exactly_one_win(store: MetricStore) -> None:
    store.save_alert_state({"n": 0}, 0, T0)
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda n: store.save_alert_state({"n": n}, 1, T0), range(1, 9)))
    assert won.count(True) == 1
    version, state = store.load_alert_state() or (0, {})
    assert version == 2 and state == {"n": won.index(True) + 1}


def test_outbox_items_and_events_are_stored_once(store: MetricStore) -> None:
    items = [outbox("g1:1"), outbox("g1:1", "slack"), outbox("g2:1", at=T0 + TICK)]
    events = [event("f1", T0), event("f2", T0 + TICK, server="api-01")]
    assert store.add_alert_records(items, events) == 3
    assert store.add_alert_records(items, events) == 0       # a retried evaluation
    assert store.add_alert_records([outbox("g1:2")], []) == 1
    pending = store.pending_notifications(10, 5)
    assert [(p.key, p.channel) for p in pending] == [
        ("g1:1", "slack"), ("g1:1", "webhook"), ("g1:2", "webhook"), ("g2:1", "webhook")]
    assert pending[1] == OutboxItem("g1:1", "webhook", "g1", "firing", T0,
                                    items[0].payload, 0, None, None)
    history = store.query_alert_history(None, None, 10)
    assert history == [events[1], events[0]]


def test_deliveries_count_attempts_and_end_once_delivered(store: MetricStore) -> None:
    store.add_alert_records([outbox("g1:1"), outbox("g2:1")], [])
    assert store.record_delivery("g1:1", "webhook", None, "HTTP 500") is True
    assert store.record_delivery("g1:1", "webhook", None, "timed out") is True
    [first, second] = store.pending_notifications(10, 5)
    assert (first.key, first.attempts, first.last_error) == ("g1:1", 2, "timed out")
    assert store.pending_notifications(10, 2) == [second]    # given up after 2 attempts
    assert store.record_delivery("g2:1", "webhook", T0 + 5, None) is True
    assert store.record_delivery("g2:1", "webhook", T0 + 6, None) is False  # already done
    assert [p.key for p in store.pending_notifications(10, 5)] == ["g1:1"]


def test_alert_history_filters_and_pages_newest_first(store: MetricStore) -> None:
    events = [event(f"f{i}", T0 + (i // 2) * TICK, server=("db-01", "api-01")[i % 2])
              for i in range(7)]
    store.add_alert_records([], events)
    newest = sorted(events, key=lambda e: (e.at, e.fingerprint), reverse=True)
    page = store.query_alert_history(None, None, 3)
    assert page == newest[:3]
    rest = store.query_alert_history(None, None, 10, (page[-1].at, page[-1].fingerprint))
    assert rest == newest[3:]
    assert store.query_alert_history("api-01", None, 10) == [
        e for e in newest if e.server_id == "api-01"]
    assert store.query_alert_history(None, "warning", 10) == []

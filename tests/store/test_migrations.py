"""The sql/ migrations on a real PostgreSQL: idempotence, row-level security, retention,
index use by the main queries, and the seeds' example views."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from lib.store.sqlite import SQLiteStore
from tests.services.postgres import (
    ALERT_TABLES,
    TABLES,
    PostgresServer,
    apply_migrations,
    create_database,
    migration_files,
)

DAY0 = "2024-01-01T00:00:00Z"

# 20 servers x 144 ten-minute ticks x 7 days = 20,160 rows; ~5 % critical, ~15 % warning.
_FLEET_WEEK = """
INSERT INTO daily_metrics
    (timestamp, server_id, cpu, memory, disk, response_time, network_rx, network_tx,
     connections, status)
SELECT %(day0)s::timestamptz + tick * interval '10 minutes',
       'srv-' || lpad(server::text, 2, '0'),
       (tick * 7 + server) %% 100, 50, 40, 120, 1000, 900, 10,
       CASE WHEN (tick * 31 + server * 17) %% 100 < 5 THEN 'critical'
            WHEN (tick * 31 + server * 17) %% 100 < 20 THEN 'warning'
            ELSE 'healthy' END
FROM generate_series(0, 7 * 144 - 1) AS tick, generate_series(1, 20) AS server
"""


@pytest.fixture
def conn(clean_postgres_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(clean_postgres_dsn, autocommit=True) as connection:
        yield connection


def insert_metric(
    conn: psycopg.Connection[tuple[object, ...]], when: str, server: str, status: str
) -> None:
    conn.execute(
        "INSERT INTO daily_metrics (timestamp, server_id, cpu, memory, disk, response_time, "
        "network_rx, network_tx, connections, status) "
        "VALUES (%s, %s, 10, 20, 30, 100, 1, 2, 3, %s)",
        (when, server, status),
    )


def scalar(conn: psycopg.Connection[tuple[object, ...]], query: str, *params: object) -> object:
    row = conn.execute(query, params or None).fetchone()  # type: ignore[call-overload]
    assert row is not None
    return row[0]


def plan(conn: psycopg.Connection[tuple[object, ...]], query: str) -> str:
    return "\n".join(str(r[0]) for r in conn.execute("EXPLAIN " + query).fetchall())  # type: ignore[call-overload]


# -- the files --------------------------------------------------------------------------------


def test_migrations_are_numbered_in_order_without_gaps() -> None:
    names = [path.name for path in migration_files()]
    numbers = [int(re.match(r"(\d{3})_", name).group(1)) for name in names]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(names) + 1))
    assert len(names) >= 4


def test_migrations_apply_twice_on_a_fresh_database(postgres_server: PostgresServer) -> None:
    dsn = create_database(postgres_server, "fleet_migrate_twice")
    apply_migrations(dsn)
    apply_migrations(dsn)
    with psycopg.connect(dsn) as conn:
        tables = {
            r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND rowsecurity"
            )
        }
        policies = scalar(conn, "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")
        views = scalar(conn, "SELECT count(*) FROM pg_views WHERE schemaname = 'public'")
        prune = scalar(conn, "SELECT prune_daily_metrics(now())")
    assert tables == set(TABLES) | set(ALERT_TABLES)
    # one read policy per public table; the alert tables have none (service role only)
    assert (policies, views, prune) == (len(TABLES), 3, 0)


# -- row-level security ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_public_roles_can_read_but_not_write(
    conn: psycopg.Connection[tuple[object, ...]], role: str
) -> None:
    insert_metric(conn, DAY0, "web-01", "healthy")
    conn.execute(
        "INSERT INTO server_templates (id, name, hostname, role, location, cpu_cores, "
        "memory_total_mb, disk_total_mb) VALUES ('web-01', 'Web', 'web-01.x', 'web', 'a', 1, 1, 1)"
    )
    refused = [
        "INSERT INTO daily_metrics (timestamp, server_id, status) VALUES (now(), 'x', 'healthy')",
        "UPDATE daily_metrics SET cpu = 99",
        "DELETE FROM daily_metrics",
        "TRUNCATE daily_metrics",
        "UPDATE server_templates SET name = 'pwned'",
        "DELETE FROM scenario_execution_log",
        "DELETE FROM server_metrics_history",
        "INSERT INTO server_metrics_history (server_id, hour, samples, status) "
        "VALUES ('x', now(), 1, 'healthy')",
        "SELECT prune_daily_metrics(now())",
    ]
    for statement in refused:
        with conn.transaction():
            conn.execute(f"SET LOCAL ROLE {role}")  # type: ignore[call-overload]
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)  # type: ignore[call-overload]
            # the failed statement aborted the transaction; leave it by rolling back
            raise psycopg.Rollback()
    with conn.transaction():
        conn.execute(f"SET LOCAL ROLE {role}")  # type: ignore[call-overload]
        assert scalar(conn, "SELECT count(*) FROM daily_metrics") == 1
        assert scalar(conn, "SELECT name FROM server_templates") == "Web"
        assert scalar(conn, "SELECT count FROM daily_metrics_status_distribution") == 1
    assert scalar(conn, "SELECT cpu::float8 FROM daily_metrics") == 10.0


def test_service_role_can_write_and_prune(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE service_role")
        insert_metric(conn, DAY0, "web-01", "healthy")
        insert_metric(conn, "2024-01-02T00:00:00Z", "web-01", "healthy")
        conn.execute("UPDATE daily_metrics SET cpu = 55")
        assert scalar(conn, "SELECT prune_daily_metrics(%s)", "2024-01-01T12:00:00Z") == 1
    assert scalar(conn, "SELECT cpu::float8 FROM daily_metrics") == 55.0


# -- retention --------------------------------------------------------------------------------


def test_prune_function_removes_exactly_the_old_rows_and_counts_them(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    conn.execute(_FLEET_WEEK, {"day0": DAY0})
    conn.execute(
        "INSERT INTO scenario_execution_log (id, pattern, origin_server, intensity, started_at, "
        "ended_at, duration_seconds) VALUES "
        "('old', 'cpu_spike', 'srv-01', 1, '2024-01-01T01:00Z', '2024-01-01T02:00Z', 3600), "
        "('open', 'db_lock', 'srv-02', 1, '2024-01-02T23:00Z', '2024-01-03T01:00Z', 7200)"
    )
    cutoff = "2024-01-03T00:00:00Z"  # two whole days before it
    assert scalar(conn, "SELECT prune_daily_metrics(%s)", cutoff) == 2 * 144 * 20
    assert scalar(conn, "SELECT count(*) FROM daily_metrics") == 5 * 144 * 20
    assert scalar(conn, "SELECT min(timestamp) = %s::timestamptz FROM daily_metrics", cutoff)
    assert scalar(conn, "SELECT string_agg(id, ',') FROM scenario_execution_log") == "open"
    assert scalar(conn, "SELECT prune_daily_metrics(%s)", cutoff) == 0


# -- index use ------------------------------------------------------------------------------


@pytest.fixture
def fleet_week(
    conn: psycopg.Connection[tuple[object, ...]],
) -> psycopg.Connection[tuple[object, ...]]:
    conn.execute(_FLEET_WEEK, {"day0": DAY0})
    conn.execute("ANALYZE daily_metrics")
    return conn


# Plans are checked with the planner's real choices (a fleet-week of rows and fresh ANALYZE
# statistics), not with enable_seqscan=off: an index the planner would not pick by itself
# is no help in production.


def test_daily_window_query_uses_the_timestamp_index(
    fleet_week: psycopg.Connection[tuple[object, ...]],
) -> None:
    text = plan(
        fleet_week,
        "SELECT * FROM daily_metrics "
        "WHERE timestamp >= '2024-01-03T00:00Z' AND timestamp < '2024-01-03T12:00Z' "
        "ORDER BY timestamp, server_id LIMIT 100",
    )
    assert "Index Scan using daily_metrics_timestamp_server_id_idx" in text
    assert "Sort" not in text


def test_keyset_page_query_uses_the_timestamp_index(
    fleet_week: psycopg.Connection[tuple[object, ...]],
) -> None:
    text = plan(
        fleet_week,
        "SELECT * FROM daily_metrics "
        "WHERE timestamp < '2024-01-05T00:00Z' "
        "AND (timestamp, server_id) > ('2024-01-04T10:00Z'::timestamptz, 'srv-07') "
        "ORDER BY timestamp, server_id LIMIT 100",
    )
    assert "Index Scan using daily_metrics_timestamp_server_id_idx" in text
    assert "Sort" not in text


def test_server_window_query_uses_the_unique_key_index(
    fleet_week: psycopg.Connection[tuple[object, ...]],
) -> None:
    text = plan(
        fleet_week,
        "SELECT * FROM daily_metrics WHERE server_id = 'srv-03' "
        "AND timestamp >= '2024-01-02T00:00Z' AND timestamp < '2024-01-03T00:00Z' "
        "ORDER BY timestamp",
    )
    assert "daily_metrics_server_id_timestamp_key" in text
    assert "Seq Scan" not in text


def test_status_query_uses_the_status_index(
    fleet_week: psycopg.Connection[tuple[object, ...]],
) -> None:
    text = plan(
        fleet_week,
        "SELECT * FROM daily_metrics WHERE status = 'critical' "
        "AND timestamp >= '2024-01-02T00:00Z' AND timestamp < '2024-01-03T00:00Z'",
    )
    assert "daily_metrics_status_timestamp_idx" in text
    assert "Seq Scan" not in text


# -- views ----------------------------------------------------------------------------------


def test_views_answer_the_seeds_example_queries(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    for when, server, status in [
        ("2024-01-01T00:00Z", "web-01", "healthy"),
        ("2024-01-01T00:10Z", "web-01", "critical"),
        ("2024-01-01T00:20Z", "web-01", "critical"),
        ("2024-01-01T00:50Z", "db-01", "warning"),
        ("2024-01-01T01:00Z", "db-01", "critical"),
        ("2024-01-01T01:10Z", "db-01", "healthy"),
        ("2024-01-01T03:30Z", "api-01", "healthy"),
    ]:
        insert_metric(conn, when, server, status)
    distribution = conn.execute(
        "SELECT status, count FROM daily_metrics_status_distribution ORDER BY status"
    ).fetchall()
    failures = conn.execute(
        "SELECT server_id, status, count FROM daily_metrics_server_failures "
        "ORDER BY server_id, status"
    ).fetchall()
    hourly = conn.execute(
        "SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24'), total, critical_count "
        "FROM daily_metrics_hourly_critical ORDER BY hour"
    ).fetchall()
    assert distribution == [("critical", 3), ("healthy", 3), ("warning", 1)]
    assert failures == [
        ("db-01", "critical", 1), ("db-01", "warning", 1), ("web-01", "critical", 2),
    ]
    assert hourly == [("00", 4, 2), ("01", 2, 1), ("03", 1, 0)]


# -- Supabase's default privileges ------------------------------------------------------------

# What a new Supabase project runs (supabase/postgres init scripts): every new table, view,
# sequence and function in public is granted to the API roles in full.
SUPABASE_DEFAULT_PRIVILEGES = """
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
"""
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@pytest.fixture
def supabase_like(
    postgres_server: PostgresServer,
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A fresh database with Supabase's default privileges, then every migration."""
    dsn = create_database(postgres_server, "fleet_supabase_defaults")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SUPABASE_DEFAULT_PRIVILEGES)
    apply_migrations(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def relations(conn: psycopg.Connection[tuple[object, ...]], kinds: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = ANY(%s) ORDER BY 1", (list(kinds),)
    ).fetchall()
    return [str(name) for (name,) in rows]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_public_roles_keep_only_select_despite_supabase_defaults(
    supabase_like: psycopg.Connection[tuple[object, ...]], role: str
) -> None:
    conn = supabase_like
    tables_and_views = relations(conn, "rv")
    assert set(TABLES) < set(tables_and_views) and len(tables_and_views) >= 6
    held = {
        (relation, privilege)
        for relation in tables_and_views for privilege in TABLE_PRIVILEGES
        if scalar(conn, "SELECT has_table_privilege(%s, %s, %s)", role, relation, privilege)
    }
    assert held == {(relation, "SELECT") for relation in tables_and_views
                    if relation not in ALERT_TABLES}
    for sequence in relations(conn, "S"):
        for privilege in ("USAGE", "SELECT", "UPDATE"):
            assert not scalar(conn, "SELECT has_sequence_privilege(%s, %s, %s)",
                              role, sequence, privilege), (sequence, privilege)
    functions = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
    ).fetchall()
    assert len(functions) >= 2
    for (function,) in functions:
        assert not scalar(conn, "SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                          role, function), function


def test_anon_cannot_move_the_identity_sequence(
    supabase_like: psycopg.Connection[tuple[object, ...]]
) -> None:
    conn = supabase_like
    conn.execute("SET ROLE anon")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT setval('daily_metrics_id_seq', 9223372036854775806)")
    conn.execute("RESET ROLE")
    insert_metric(conn, DAY0, "web-01", "healthy")  # later inserts still work
    assert scalar(conn, "SELECT count(*) FROM daily_metrics") == 1


def test_service_role_writes_and_nothing_more(
    supabase_like: psycopg.Connection[tuple[object, ...]]
) -> None:
    conn = supabase_like
    for table in TABLES + ALERT_TABLES:
        held = {p for p in TABLE_PRIVILEGES
                if scalar(conn, "SELECT has_table_privilege('service_role', %s, %s)", table, p)}
        assert held == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
    assert scalar(conn, "SELECT has_function_privilege('service_role', "
                  "'write_metrics_batch(jsonb)', 'EXECUTE')")


# -- the SQLite dialect of the same schema -------------------------------------------------------

# PostgreSQL's types as SQLite's column affinities (timestamps are epoch seconds there).
SQLITE_AFFINITY = {
    "timestamp with time zone": "INTEGER", "bigint": "INTEGER", "integer": "INTEGER",
    "numeric": "REAL", "character varying": "TEXT", "text": "TEXT", "jsonb": "TEXT",
    "double precision": "REAL",
}


def _postgres_columns(conn: psycopg.Connection[tuple[object, ...]], table: str
                      ) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position", (table,)
    ).fetchall()
    return {str(name): SQLITE_AFFINITY[str(kind)] for name, kind in rows}


def _postgres_unique_keys(conn: psycopg.Connection[tuple[object, ...]], table: str
                          ) -> set[tuple[str, ...]]:
    rows = conn.execute(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisunique GROUP BY i.indexrelid",
        (f"public.{table}",)).fetchall()
    return {tuple(columns) for (columns,) in rows}  # type: ignore[arg-type]


def _sqlite_schema(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "schema.sqlite3"
    SQLiteStore(str(path)).close()
    return sqlite3.connect(path)


@pytest.mark.parametrize("table", TABLES + ALERT_TABLES)
def test_sqlite_store_has_the_migrations_columns_types_and_unique_keys(
    conn: psycopg.Connection[tuple[object, ...]], tmp_path: Path, table: str
) -> None:
    lite = _sqlite_schema(tmp_path)
    columns = {str(r[1]): str(r[2]) for r in lite.execute(f"PRAGMA table_info({table})")}
    assert columns == _postgres_columns(conn, table)
    lite_keys = {tuple(str(c[2]) for c in lite.execute(f"PRAGMA index_info('{index[1]}')"))
                 for index in lite.execute(f"PRAGMA index_list({table})") if index[2]}
    # the primary key (an INTEGER PRIMARY KEY is the rowid and has no index of its own)
    lite_keys.add(tuple(str(r[1]) for r in lite.execute(f"PRAGMA table_info({table})")
                        if r[5]))
    assert lite_keys == _postgres_unique_keys(conn, table)

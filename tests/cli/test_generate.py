"""``python -m lib generate`` and the collect → store pipeline behind it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from lib.app import default_window, store_window
from lib.collectors import DummyCollector
from lib.core import parse_instant
from lib.sim import Simulator, get_fleet
from lib.store import MetricQuery
from lib.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[2]
DAY0 = parse_instant("2024-01-01", "t")


def generate(db: Path, *args: str, seed: str = "5") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "", "SQLITE_PATH": str(db), "METRICS_STORE": "sqlite", "METRICS_SEED": seed}
    return subprocess.run([sys.executable, "-m", "lib", "generate", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def dump(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT timestamp, server_id, cpu, memory, disk, response_time, network_rx, "
            "network_tx, connections, status FROM daily_metrics ORDER BY timestamp, server_id"
        ).fetchall()


def test_generate_twice_leaves_identical_contents(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    first = generate(db, "--date", "2024-01-01")
    assert first.returncode == 0, first.stderr
    assert "stored 2,880 rows" in first.stdout and "sqlite" in first.stdout
    assert "seed 5" in first.stdout
    before = dump(db)
    assert len(before) == 2_880
    assert generate(db, "--date", "2024-01-01").returncode == 0
    assert dump(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM server_templates").fetchone() == (20,)
        incidents = conn.execute("SELECT count(*) FROM scenario_execution_log").fetchone()[0]
    truth = Simulator(5, get_fleet()).incidents(DAY0, DAY0 + 86_400)
    assert incidents == len(truth)


def test_stored_rows_equal_the_generator(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    assert generate(db, "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T06:00:00Z"
                    ).returncode == 0
    frame = Simulator(5, get_fleet()).frame(DAY0, DAY0 + 6 * 3600)
    expected = [(r.timestamp, r.server_id, r.cpu, r.memory, r.disk, r.response_time,
                 r.network_rx, r.network_tx, r.connections, r.status) for r in frame.rows()]
    assert dump(db) == expected


def test_clear_empties_the_window_first(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    assert generate(db, "--date", "2024-01-01", "--days", "2").returncode == 0
    assert len(dump(db)) == 5_760
    # Same window, another seed, with --clear: only the new seed's rows remain.
    result = generate(db, "--date", "2024-01-02", "--clear", seed="6")
    assert result.returncode == 0 and "cleared 2,880 old rows" in result.stdout
    rows = dump(db)
    assert len(rows) == 5_760
    day2 = [r for r in rows if r[0] >= DAY0 + 86_400]
    frame = Simulator(6, get_fleet()).frame(DAY0 + 86_400, DAY0 + 2 * 86_400)
    assert [r[2] for r in day2] == [r.cpu for r in frame.rows()]


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        (["--date", "2024-1-1"], "--date"),
        (["--date", "2024-01-01", "--start", "2024-01-01"], "--date"),
        (["--days", "0"], "--days"),
        (["--start", "2024-01-02", "--end", "2024-01-01"], "--end"),
        (["--end", "2024-01-01"], "--start"),
        (["--seed", "-4", "--date", "2024-01-01"], "--seed"),
        (["--date", "2024-01-01", "--fleet", "nope"], "--fleet"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], parameter: str
                                            ) -> None:
    result = generate(tmp_path / "m.sqlite3", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and parameter in lines[0] and "Traceback" not in result.stderr


def test_bad_store_setting_names_the_variable(tmp_path: Path) -> None:
    env = {"PATH": "", "METRICS_STORE": "postgres", "POSTGRES_URL": "mysql://x"}
    result = subprocess.run([sys.executable, "-m", "lib", "generate", "--date", "2024-01-01"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: POSTGRES_URL")


def test_pipeline_writes_to_real_postgres_idempotently(clean_postgres_dsn: str) -> None:
    collector = DummyCollector(Simulator(9, get_fleet()))
    store = PostgresStore(clean_postgres_dsn)
    try:
        first = store_window(collector, store, DAY0, DAY0 + 86_400)
        again = store_window(collector, store, DAY0, DAY0 + 86_400)
        assert first.rows == again.rows == 2_880
        rows = store.query_metrics(MetricQuery(start=DAY0, end=DAY0 + 86_400, limit=5_000))
        assert rows == collector.window(DAY0, DAY0 + 86_400, 600)
        assert [i.id for i in store.query_incidents(DAY0, DAY0 + 86_400)] == [
            i.id for i in collector.incidents(DAY0, DAY0 + 86_400)
        ]
    finally:
        store.close()


def test_default_window_is_yesterday_and_today_so_far() -> None:
    now = parse_instant("2024-05-10T13:47:12Z", "now")
    start, end = default_window(now)
    assert start == parse_instant("2024-05-09", "t")
    assert end == parse_instant("2024-05-10T13:50:00Z", "t")  # includes the current tick 13:40


_STALL_INCIDENTS = """
CREATE OR REPLACE FUNCTION stall_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
CREATE TRIGGER stall_incidents BEFORE INSERT ON scenario_execution_log
FOR EACH ROW EXECUTE FUNCTION stall_incidents();
"""


def _stalled_backend(dsn: str) -> int | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE query LIKE "
                           "'%scenario_execution_log%' AND wait_event = 'PgSleep'").fetchone()
    return None if row is None else int(row[0])


def test_generate_killed_mid_day_leaves_that_day_as_it_was(clean_postgres_dsn: str) -> None:
    # Day one is stored complete. Then `generate --clear` with another seed is killed
    # (SIGKILL) while its first day's ground truth is being written: the day's clear and
    # rows must not be committed without it.
    store = PostgresStore(clean_postgres_dsn)
    store_window(DummyCollector(Simulator(5, get_fleet())), store, DAY0, DAY0 + 86_400)
    before = store.query_metrics(MetricQuery(limit=5_000))
    truth = store.query_incidents(DAY0, DAY0 + 86_400)
    store.close()
    with psycopg.connect(clean_postgres_dsn, autocommit=True) as conn:
        conn.execute(_STALL_INCIDENTS)
    env = {"PATH": "", "POSTGRES_URL": clean_postgres_dsn, "METRICS_SEED": "6"}
    child = subprocess.Popen([sys.executable, "-m", "lib", "generate", "--date", "2024-01-01",
                              "--clear"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        backend = None
        while backend is None and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.1)
            backend = _stalled_backend(clean_postgres_dsn)
        assert backend is not None, child.communicate(timeout=5)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        with psycopg.connect(clean_postgres_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE wait_event = 'PgSleep'")
            conn.execute("DROP TRIGGER stall_incidents ON scenario_execution_log")
    store = PostgresStore(clean_postgres_dsn)
    try:
        assert store.query_metrics(MetricQuery(limit=5_000)) == before
        assert store.query_incidents(DAY0, DAY0 + 86_400) == truth
    finally:
        store.close()

"""``python -m lib migrate`` applies sql/ to a real PostgreSQL, repeatably."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from tests.services.postgres import PostgresServer, create_database

ROOT = Path(__file__).resolve().parents[2]


def migrate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lib", "migrate", *args], cwd=ROOT,
                          env={"PATH": "", **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def test_migrate_twice_on_a_fresh_database(postgres_server: PostgresServer) -> None:
    dsn = create_database(postgres_server, "migrate_cli")
    for _ in range(2):
        result = migrate(env={"POSTGRES_URL": dsn + "?pgbouncer=true"})
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("applied 001_tables.sql, 002_security.sql")
    with psycopg.connect(dsn) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"daily_metrics", "server_templates", "scenario_execution_log"} <= tables


def test_migrate_without_a_database_names_the_setting() -> None:
    result = migrate()
    assert result.returncode == 2 and result.stderr.startswith("error: --dsn:")
    refused = migrate("--dsn", "postgresql://u:p@127.0.0.1:1/x")
    assert refused.returncode == 1 and refused.stderr.startswith("error: migration failed")
    assert "Traceback" not in refused.stderr

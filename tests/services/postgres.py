"""A throwaway real PostgreSQL server for tests and benchmarks.

``running_postgres()`` runs initdb into a fresh temporary directory, starts the server on a
free port (TCP on 127.0.0.1, unix socket in the same directory), creates the Supabase roles
(anon, authenticated, service_role — NOLOGIN, as on Supabase) and a login role ``fleet`` that
owns the database ``fleet_test``, applies every sql/ migration in order, and stops and removes
everything on exit. The pytest fixtures below wrap it for one test session.

Fixtures:
    postgres_server      session  the running PostgresServer (skips, or fails when CI=true,
                                  if the binaries are missing)
    postgres_dsn         session  DSN of the migrated test database, as the ``fleet`` owner
    clean_postgres_dsn   function the same DSN, with every table emptied first
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from lib.store import SQL_DIR, apply_migrations, migration_files
from tests.services.processes import free_port

__all__ = [
    "ALERT_TABLES",
    "PG_BIN",
    "SQL_DIR",
    "PostgresServer",
    "apply_migrations",
    "binaries_available",
    "clean_postgres_dsn",
    "create_database",
    "migration_files",
    "postgres_dsn",
    "postgres_server",
    "running_postgres",
    "truncate_all",
]

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# The tables the public roles may read (one read policy each), and the alert engine's,
# which only the service role touches (sql/007).
TABLES = (
    "daily_metrics", "server_templates", "scenario_execution_log", "server_metrics_history",
)
ALERT_TABLES = ("alert_engine_state", "alert_notifications", "alert_history")

TEST_USER = "fleet"
TEST_DB = "fleet_test"
# PostgreSQL refuses to run as root; when we are root the server runs as this account.
SERVER_ACCOUNT = "postgres"

# Durability is pointless for a throwaway cluster; these make initdb and writes fast.
_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=50 -c shared_buffers=64MB"
)

_BOOTSTRAP = f"""
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN BYPASSRLS;
CREATE ROLE {TEST_USER} LOGIN CREATEDB;
GRANT anon, authenticated, service_role TO {TEST_USER};
"""


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server."""

    root: Path
    port: int

    def dsn(self, dbname: str = TEST_DB, user: str = TEST_USER) -> str:
        """A libpq URL for ``user`` on ``dbname`` (trust authentication, no password)."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    @property
    def admin_dsn(self) -> str:
        """The superuser on the maintenance database."""
        return self.dsn("postgres", "postgres")


def binaries_available() -> bool:
    """True when initdb and pg_ctl are installed where PG_BIN points."""
    return all(os.access(PG_BIN / tool, os.X_OK) for tool in ("initdb", "pg_ctl"))


def create_database(server: PostgresServer, name: str) -> str:
    """Create an empty database owned by the test role (no migrations); returns its DSN."""
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" OWNER {TEST_USER}')
    return server.dsn(name)


def truncate_all(dsn: str) -> None:
    """Empty every table of the schema."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES + ALERT_TABLES)} RESTART IDENTITY")


def _run_as_server(args: list[str], cwd: Path) -> None:
    command = [str(a) for a in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_ACCOUNT, "--", *command]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def _start(root: Path) -> int:
    data = root / "data"
    _run_as_server(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
        root,
    )
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {_SERVER_OPTIONS}"
    _run_as_server(
        [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
         "-o", options, "-w", "-t", "30", "start"],
        root,
    )
    return port


def _stop(root: Path) -> None:
    # immediate: nothing in a throwaway cluster is worth a checkpoint
    _run_as_server(
        [str(PG_BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
        root,
    )


def _bootstrap(server: PostgresServer) -> None:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(_BOOTSTRAP)
        conn.execute(f"CREATE DATABASE {TEST_DB} OWNER {TEST_USER}")
    apply_migrations(server.dsn())


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a migrated throwaway server; stop it and delete its files on exit."""
    # directly under /tmp: pytest's own tmp dirs are 0700 root and the server account
    # could not enter them
    root = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, SERVER_ACCOUNT, SERVER_ACCOUNT)
        server = PostgresServer(root, _start(root))
        started = True
        _bootstrap(server)
        yield server
    finally:
        if started:
            _stop(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole session; missing binaries skip, or fail when CI=true."""
    if not binaries_available():
        message = f"PostgreSQL binaries not found in {PG_BIN}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """DSN of the migrated test database, connecting as its owner (like Supabase's postgres)."""
    return postgres_server.dsn()


@pytest.fixture
def clean_postgres_dsn(postgres_dsn: str) -> str:
    """The test database DSN with every table emptied before the test."""
    truncate_all(postgres_dsn)
    return postgres_dsn

"""Backend selection from the environment (METRICS_STORE and the variables it depends on)."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib.core import ConfigError, get_settings
from lib.store import get_store
from lib.store.postgres import PostgresStore
from lib.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[2]
# shaped like a JWT, which is what supabase-py checks keys against
SERVICE_KEY = "service.role.key"
ANON_KEY = "anon.public.key"

_STORE_VARIABLES = (
    "METRICS_STORE", "SQLITE_PATH", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_ANON_KEY", "POSTGRES_URL", "DATABASE_URL", "STORE_TIMEOUT_SECONDS", "VERCEL",
)


class FakeSupabaseStore:
    """Records how the factory built it, in place of lib.store.supabase.SupabaseStore."""

    name = "supabase"

    def __init__(self, url: str, key: str, **options: Any) -> None:
        self.url, self.key, self.options = url, key, options

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A clean slate: no store variable set, SQLite pointed into the test's temp dir."""
    for variable in _STORE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "fleet.sqlite3"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fake_supabase(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("lib.store.supabase")
    module.SupabaseStore = FakeSupabaseStore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lib.store.supabase", module)


def build(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for variable, value in env.items():
        monkeypatch.setenv(variable.upper(), value)
    get_settings.cache_clear()
    return get_store()


def config_error(monkeypatch: pytest.MonkeyPatch, **env: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build(monkeypatch, **env)
    return caught.value


# -- auto -----------------------------------------------------------------------------------


def test_auto_without_settings_uses_sqlite_at_sqlite_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = build(monkeypatch)
    assert isinstance(store, SQLiteStore)
    assert store.path == str(tmp_path / "fleet.sqlite3")
    assert (tmp_path / "fleet.sqlite3").exists()
    store.close()


@pytest.mark.usefixtures("fake_supabase")
def test_auto_prefers_supabase_with_the_service_role_key(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(
        monkeypatch,
        supabase_url="https://xyz.supabase.co",
        supabase_service_role_key=SERVICE_KEY,
        supabase_anon_key=ANON_KEY,
        postgres_url="postgres://u:p@db.example.com:6543/postgres",
        store_timeout_seconds="3.5",
    )
    assert isinstance(store, FakeSupabaseStore)
    assert (store.url, store.key, store.options) == (
        "https://xyz.supabase.co", SERVICE_KEY, {"timeout": 3.5},
    )


@pytest.mark.usefixtures("fake_supabase")
def test_auto_falls_back_to_the_anon_key(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(monkeypatch, supabase_url="https://xyz.supabase.co", supabase_anon_key=ANON_KEY)
    assert isinstance(store, FakeSupabaseStore)
    assert store.key == ANON_KEY


def test_auto_builds_the_real_supabase_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.store.supabase import SupabaseStore

    store = build(
        monkeypatch, supabase_url="https://xyz.supabase.co", supabase_service_role_key=SERVICE_KEY
    )
    assert isinstance(store, SupabaseStore)
    store.close()


def test_auto_ignores_a_supabase_url_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(
        monkeypatch,
        supabase_url="https://xyz.supabase.co",
        postgres_url="postgresql://u@127.0.0.1:1/db",
    )
    assert isinstance(store, PostgresStore)


def test_auto_uses_postgres_for_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(build(monkeypatch, database_url="postgres://u@h/db"), PostgresStore)


def test_auto_treats_empty_variables_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(monkeypatch, supabase_url="", supabase_service_role_key="", postgres_url=" ")
    assert isinstance(store, SQLiteStore)
    store.close()


def test_postgres_url_wins_over_database_url(
    monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    # the pooler URL Vercel injects carries a parameter libpq rejects; the store drops it
    store = build(
        monkeypatch,
        postgres_url=postgres_dsn + "?supa=base-pooler.x",
        database_url="postgresql://wrong@127.0.0.1:1/nothing",
    )
    assert isinstance(store, PostgresStore)
    store.health()  # reaches the real test database, so POSTGRES_URL was the one used
    store.close()


# -- explicit choices -----------------------------------------------------------------------


def test_explicit_sqlite_wins_over_remote_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(
        monkeypatch,
        metrics_store="sqlite",
        supabase_url="https://xyz.supabase.co",
        supabase_service_role_key=SERVICE_KEY,
        postgres_url="postgres://u@h/db",
    )
    assert isinstance(store, SQLiteStore)
    store.close()


def test_explicit_postgres_wins_over_supabase(monkeypatch: pytest.MonkeyPatch) -> None:
    store = build(
        monkeypatch,
        metrics_store="postgres",
        supabase_url="https://xyz.supabase.co",
        supabase_service_role_key=SERVICE_KEY,
        database_url="postgresql://u@h/db",
    )
    assert isinstance(store, PostgresStore)


def test_supabase_without_url_names_supabase_url(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, metrics_store="supabase", supabase_anon_key=ANON_KEY)
    assert error.variable == "SUPABASE_URL"
    assert str(error) == "SUPABASE_URL: required when METRICS_STORE=supabase"


def test_supabase_without_key_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(
        monkeypatch, metrics_store="supabase", supabase_url="https://xyz.supabase.co"
    )
    assert error.variable == "SUPABASE_SERVICE_ROLE_KEY"
    assert "required when METRICS_STORE=supabase" in str(error)
    assert "SUPABASE_ANON_KEY" in str(error)


@pytest.mark.parametrize(
    "url", ["xyz.supabase.co", "ftp://xyz.supabase.co", "https://", "postgres://xyz"]
)
def test_supabase_url_must_be_http(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    error = config_error(
        monkeypatch, metrics_store="supabase", supabase_url=url, supabase_anon_key=ANON_KEY
    )
    assert error.variable == "SUPABASE_URL"
    assert "http(s) URL" in str(error)


def test_malformed_supabase_url_fails_in_auto_mode_too(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, supabase_url="not a url", supabase_anon_key=ANON_KEY)
    assert error.variable == "SUPABASE_URL"


def test_postgres_without_dsn_names_postgres_url(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, metrics_store="postgres")
    assert error.variable == "POSTGRES_URL"
    assert str(error) == (
        "POSTGRES_URL: required when METRICS_STORE=postgres (or DATABASE_URL)"
    )


@pytest.mark.parametrize(
    ("variable", "dsn"),
    [
        ("POSTGRES_URL", "mysql://u:secret@h/db"),
        ("DATABASE_URL", "https://db.example.com"),
        ("DATABASE_URL", "host=localhost dbname=x"),
    ],
)
def test_postgres_dsn_must_be_a_postgres_url(
    monkeypatch: pytest.MonkeyPatch, variable: str, dsn: str
) -> None:
    error = config_error(monkeypatch, metrics_store="postgres", **{variable: dsn})
    assert error.variable == variable
    assert str(error) == f"{variable}: must be a postgres:// or postgresql:// URL"
    assert "secret" not in str(error)


def test_unknown_backend_names_metrics_store(monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(monkeypatch, metrics_store="mongodb")
    assert error.variable == "METRICS_STORE"


def test_settings_passed_in_override_the_environment(tmp_path: Path) -> None:
    from lib.core import Settings

    path = str(tmp_path / "explicit.sqlite3")
    store = get_store(Settings(metrics_store="sqlite", sqlite_path=path))
    assert isinstance(store, SQLiteStore)
    assert store.path == path
    store.close()


# -- import cost ----------------------------------------------------------------------------


def test_importing_the_factory_does_not_import_supabase_or_psycopg() -> None:
    code = (
        "import lib.store.factory, sys; "
        "assert 'supabase' not in sys.modules, 'supabase'; "
        "assert 'lib.store.supabase' not in sys.modules, 'lib.store.supabase'; "
        "assert 'psycopg' not in sys.modules, 'psycopg'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr

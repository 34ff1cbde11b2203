"""Pick the store backend from the settings (``METRICS_STORE=auto|sqlite|supabase|postgres``).

``auto`` chooses, in order:

1. supabase — ``SUPABASE_URL`` and a key (``SUPABASE_SERVICE_ROLE_KEY``, else
   ``SUPABASE_ANON_KEY``, which can only read) are both set;
2. postgres — ``POSTGRES_URL`` (what Vercel's Supabase integration injects) or ``DATABASE_URL``;
3. sqlite — a local file at ``SQLITE_PATH`` (default ./data/, or /tmp on Vercel).

An explicit choice whose settings are missing or malformed raises ConfigError naming the
variable. The Supabase and PostgreSQL backends are imported only when chosen: the ``supabase``
package is heavy, and a cold start on the SQLite default should not pay for it.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from lib.core import ConfigError, Settings, get_settings, http_url_problem

from .base import MetricStore
from .sqlite import SQLiteStore

__all__ = ["get_store"]


def get_store(settings: Settings | None = None) -> MetricStore:
    """A new store for the configured backend; the caller closes it.

    Nothing is contacted here (every backend connects lazily or opens a local file), so a
    misconfigured remote store surfaces on first use as StoreUnavailable, and a missing or
    malformed setting surfaces at once as ConfigError.
    """
    settings = settings if settings is not None else get_settings()
    backend = (
        _auto_backend(settings) if settings.metrics_store == "auto" else settings.metrics_store
    )
    if backend == "supabase":
        return _supabase_store(settings)
    if backend == "postgres":
        return _postgres_store(settings)
    return SQLiteStore(settings.resolved_sqlite_path(), timeout=settings.store_timeout_seconds)


def _auto_backend(settings: Settings) -> Literal["sqlite", "supabase", "postgres"]:
    if settings.supabase_url and _supabase_key(settings):
        return "supabase"
    if settings.postgres_dsn:
        return "postgres"
    return "sqlite"


def _supabase_store(settings: Settings) -> MetricStore:
    url = settings.supabase_url
    if not url:
        raise ConfigError("SUPABASE_URL", "required when METRICS_STORE=supabase")
    problem = http_url_problem(url, "https://xyz.supabase.co")
    if problem is not None:
        raise ConfigError("SUPABASE_URL", problem)
    key = _supabase_key(settings)
    if not key:
        raise ConfigError(
            "SUPABASE_SERVICE_ROLE_KEY",
            "required when METRICS_STORE=supabase (or SUPABASE_ANON_KEY for read-only use)",
        )
    # imported here, never at module level: see the module docstring
    from .supabase import SupabaseStore

    return SupabaseStore(url, key, timeout=settings.store_timeout_seconds)


def _postgres_store(settings: Settings) -> MetricStore:
    variable = "POSTGRES_URL" if settings.postgres_url else "DATABASE_URL"
    dsn = settings.postgres_dsn
    if not dsn:
        raise ConfigError(
            "POSTGRES_URL", "required when METRICS_STORE=postgres (or DATABASE_URL)"
        )
    if urlsplit(dsn).scheme not in ("postgres", "postgresql"):
        # never echo the value: a DSN carries the database password
        raise ConfigError(variable, "must be a postgres:// or postgresql:// URL")
    from .postgres import PostgresStore

    return PostgresStore(dsn, timeout=settings.store_timeout_seconds)


def _supabase_key(settings: Settings) -> str | None:
    # the service role key can write (it bypasses row-level security); the anon key only reads
    return settings.supabase_service_role_key or settings.supabase_anon_key

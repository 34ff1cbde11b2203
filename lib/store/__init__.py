"""Where history lives: the MetricStore protocol, its factory, and the migrations of sql/.

Backends: SQLite (embedded default), Supabase (PostgREST) and PostgreSQL (psycopg); the two
remote ones are imported only when the factory picks them.
"""

from __future__ import annotations

from .base import AlertEvent, MetricQuery, MetricStore, OutboxItem, WriteBatch, Written
from .factory import get_store
from .migrate import SQL_DIR, apply_migrations, migration_files

__all__ = [
    "AlertEvent",
    "OutboxItem",
    "SQL_DIR",
    "MetricQuery",
    "MetricStore",
    "WriteBatch",
    "Written",
    "apply_migrations",
    "get_store",
    "migration_files",
]

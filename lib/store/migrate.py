"""Apply the sql/ migrations to a PostgreSQL database (Supabase included), in order.

Every migration is written to be safe to apply twice, so running this again is harmless.
The tests apply the migrations with this same code.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SQL_DIR", "apply_migrations", "migration_files"]

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The ``NNN_name.sql`` files in apply order."""
    return sorted(sql_dir.glob("[0-9][0-9][0-9]_*.sql"))


def apply_migrations(dsn: str, files: list[Path] | None = None) -> list[Path]:
    """Apply each migration in its own transaction; returns the files applied."""
    import psycopg

    from .postgres import libpq_dsn

    applied = files if files is not None else migration_files()
    with psycopg.connect(libpq_dsn(dsn), autocommit=True, prepare_threshold=None) as conn:
        for path in applied:
            with conn.transaction():
                # No parameters: psycopg sends the file as one simple query, so several
                # statements and $$-quoted function bodies need no splitting.
                conn.execute(path.read_text(encoding="utf-8").encode())
    return applied

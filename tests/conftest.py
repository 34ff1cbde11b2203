"""Shared fixtures. Service fixtures (real PostgreSQL, real Redis) live in tests/services/."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.services.postgres",
    "tests.services.redis",
    "tests.services.prometheus",
    "tests.services.onprem",
    "tests.services.moto",
]

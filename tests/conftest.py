"""Shared fixtures: the API client over the combined app (tests/apiclient.py) and the real
services and service fakes (tests/services/)."""

from __future__ import annotations

import pytest

pytest_plugins: list[str] = [
    "tests.apiclient",
    "tests.services.postgres",
    "tests.services.redis",
    "tests.services.prometheus",
    "tests.services.onprem",
    "tests.services.moto",
    "tests.services.receiver",
    "tests.services.alertmanager",
]


@pytest.fixture(autouse=True)
def _empty_process_cache() -> None:
    """Each test starts with an empty hot layer, as a new function instance would."""
    from lib.cache import process_cache

    process_cache().close()

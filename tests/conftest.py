"""Shared fixtures: the API client over the combined app (tests/apiclient.py) and the real
services and service fakes (tests/services/)."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.apiclient",
    "tests.services.postgres",
    "tests.services.redis",
    "tests.services.prometheus",
    "tests.services.onprem",
    "tests.services.moto",
]

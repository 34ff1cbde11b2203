"""An API client over the combined app with a real store, a frozen clock and a fresh cache."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lib.alerts.rules import RuleSet, default_rules
from lib.app import store_window
from lib.cache import Cache, MemoryCache
from lib.collectors import Collector, DummyCollector
from lib.core import Settings, parse_instant
from lib.sim import Simulator, get_fleet
from lib.store import MetricStore
from lib.store.sqlite import SQLiteStore
from lib.web import combined_app, deps

SEED = 424242
DAY0 = parse_instant("2024-01-01T00:00:00Z", "t")
NOW = parse_instant("2024-01-02T10:00:07Z", "t")  # stored: all of Jan 1 and Jan 2 until 10:10


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    store: MetricStore
    collector: Collector
    settings: Settings
    sim: Simulator

    def use(self, *, store: MetricStore | None = None, cache: Cache | None = None,
            collector: Collector | None = None, settings: Settings | None = None,
            hot: Cache | None = None) -> None:
        """Swap a backend for the rest of the test (``hot``: the process memory layer)."""
        overrides = self.app.dependency_overrides
        if hot is not None:
            overrides[deps.provide_hot_cache] = lambda: hot
        if store is not None:
            overrides[deps.provide_store] = lambda: store
        if cache is not None:
            overrides[deps.provide_cache] = lambda: cache
        if collector is not None:
            overrides[deps.provide_collector] = lambda: collector
        if settings is not None:
            self.settings = settings
            overrides[deps.provide_settings] = lambda: settings


@pytest.fixture(scope="session")
def filled_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file holding Jan 1 and Jan 2 up to the current tick, written once."""
    path = tmp_path_factory.mktemp("api") / "metrics.sqlite3"
    store = SQLiteStore(str(path))
    store_window(DummyCollector(Simulator(SEED, get_fleet())), store, DAY0, NOW - NOW % 600 + 600)
    store.close()
    return path


@pytest.fixture
def api(filled_sqlite: Path, tmp_path: Path) -> Iterator[Api]:
    copy = tmp_path / "metrics.sqlite3"
    copy.write_bytes(filled_sqlite.read_bytes())
    # Polls do not evaluate alerts here (tests/api/test_alerts.py turns it on where it tests
    # it): an evaluation analyses a week of rows, which no other test needs to pay for.
    settings = Settings(metrics_seed=SEED, sqlite_path=str(copy), metrics_store="sqlite",
                        cache_backend="memory", alerts_on_poll=False)
    sim = Simulator(SEED, get_fleet())
    store = SQLiteStore(str(copy))
    app = combined_app()
    api = Api(TestClient(app), app, store, DummyCollector(sim), settings, sim)
    api.use(store=store, cache=MemoryCache(), collector=api.collector, settings=settings,
            hot=MemoryCache())
    app.dependency_overrides[deps.provide_now] = lambda: NOW
    try:
        yield api
    finally:
        app.dependency_overrides.clear()
        store.close()


def eager_rules() -> RuleSet:
    """The default rules, with a standalone alert notifying as soon as it fires: the API's
    alert tests are about evaluation and delivery, and want notifications in a short
    window (the shipped ``standalone_for`` is scored by the alert scorecard)."""
    rules = default_rules()
    return rules.model_copy(update={"settings": rules.settings.model_copy(
        update={"standalone_for": 0})})

"""Health of every tier: ``GET /api/status`` — which backends are configured and whether
each answers now, within a fixed budget whatever they do."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from lib.cache import Cache
from lib.collectors import Collector
from lib.core import FleetError, Settings, format_iso
from lib.store import MetricStore

from .results import Result

__all__ = ["STATUS_BUDGET_SECONDS", "status_report"]


# Status answers within this budget whatever the backends do; a probe still running by then
# is reported as timed out (it finishes in the background, bounded by its own timeout).
STATUS_BUDGET_SECONDS = 1.5


def _public(exc: BaseException) -> str:
    return exc.public if isinstance(exc, FleetError) else "unexpected error"


def _store_probe(store: MetricStore) -> str | None:
    store.health()
    tick = store.last_tick()
    return format_iso(tick) if tick is not None else None


def _run_probes(probes: dict[str, Callable[[], Any]], budget: float
                ) -> dict[str, tuple[bool, Any, str | None]]:
    """Each probe run at once in its own thread: name → (ok, value, public error)."""
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="status")
    futures: dict[str, Future[Any]] = {name: pool.submit(probe) for name, probe in
                                       probes.items()}
    pool.shutdown(wait=False)  # never wait on a stuck backend past the budget
    deadline = time.monotonic() + budget
    results: dict[str, tuple[bool, Any, str | None]] = {}
    for name, future in futures.items():
        try:
            value = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = (False, None, f"no answer within {budget:g} s")
        except Exception as exc:  # a status page reports failures; it never raises them
            results[name] = (False, None, _public(exc))
        else:
            results[name] = (True, value, None)
    return results


def status_report(store: MetricStore, cache: Cache, collector: Collector, settings: Settings,
                  budget: float = STATUS_BUDGET_SECONDS) -> Result:
    """Which backends are configured and whether each answers now, within ``budget``."""
    found = _run_probes({
        "store": lambda: _store_probe(store),
        "source": collector.health,
        "servers": lambda: len(collector.servers()),
        "cache": cache.ping,
    }, budget)
    store_ok, last, store_error = found["store"]
    source_ok, _, source_error = found["source"]
    payload = {
        "collector": {"mode": collector.mode, "ok": source_ok, "error": source_error},
        "store": {"backend": store.name, "ok": store_ok, "error": store_error,
                  "last_tick": last},
        "cache": {"backend": cache.name, "ok": bool(found["cache"][1])},
        "fleet": {"profile": settings.fleet_profile, "servers": found["servers"][1],
                  "seed": collector.seed},
        "retention_hours": settings.retention_hours,
    }
    return Result(payload, "store" if store_ok else "generator", None)

"""Collect → store: write a window's rows, ground truth and templates to a store.

Used by ``python -m lib generate`` and by the ``/api/generate-batch`` cron function. Writes
are upserts keyed on (server_id, timestamp), so a retried or overlapping run changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lib.collectors import Collector
from lib.core import DAY, day_start, format_iso
from lib.sim import DEFAULT_STEP
from lib.store import MetricStore, WriteBatch

from .rollups import hourly_rollups

__all__ = ["BatchResult", "default_window", "store_window"]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one run wrote."""

    start: int
    end: int
    rows: int
    incidents: int
    cleared: int
    duration_ms: int

    def window(self) -> dict[str, str]:
        return {"start": format_iso(self.start), "end": format_iso(self.end)}


def default_window(now: int, step: int = DEFAULT_STEP) -> tuple[int, int]:
    """The last complete UTC day plus today up to and including the current tick."""
    today = day_start(now)
    return today - DAY, now - now % step + step


def store_window(
    collector: Collector,
    store: MetricStore,
    start: int,
    end: int,
    *,
    step: int = DEFAULT_STEP,
    clear: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> BatchResult:
    """Collect [start, end) day by day and write each day in one transaction.

    A day's rows, its hourly rollups, the ground truth of every incident overlapping it
    (including ones begun the day before) and, with ``clear``, the emptying of that day commit
    together: a crash leaves each day either as it was or complete. The fleet's templates
    are upserted first.
    """
    began = time.perf_counter()
    store.upsert_templates(collector.servers())
    rows = cleared = 0
    incident_ids: set[str] = set()
    for lo in range(start, end, DAY):
        hi = min(lo + DAY, end)
        batch = collector.window(lo, hi, step)
        incidents = collector.incidents(lo, hi)
        # hours that start inside the window (its last one may be incomplete until the next
        # batch completes it; a partial first hour would overwrite a complete rollup)
        rollups = [r for r in hourly_rollups(batch) if r.start >= start]
        written = store.write_batch(WriteBatch(lo, hi, batch, incidents, clear=clear,
                                               rollups=rollups))
        rows += written.rows
        cleared += written.cleared
        incident_ids.update(i.id for i in incidents)
        if on_chunk is not None:
            on_chunk(len(batch))
    return BatchResult(
        start=start,
        end=end,
        rows=rows,
        incidents=len(incident_ids),
        cleared=cleared,
        duration_ms=round((time.perf_counter() - began) * 1000),
    )


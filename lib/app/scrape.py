"""The simulated fleet for a real Prometheus: ``GET /api/prometheus`` — every server at one
instant in Prometheus text format (lib.sim.exposition)."""

from __future__ import annotations

import time

from lib.collectors import simulator_from
from lib.core import Settings
from lib.core.promnames import CONTENT_TYPE

from .params import optional_instant

__all__ = ["CONTENT_TYPE", "scrape"]


def scrape(settings: Settings, at: str | None) -> bytes:
    """The exposition at ``at``, else at the wall clock to the sub-second.

    Whole seconds would not do: Prometheus divides counter increases by its own scrape
    timestamps, so truncating to the second skews a 10-second ``rate()`` by up to 10 %.
    """
    moment = optional_instant(at, "at")  # a bad instant is refused before the heavy import
    from lib.sim.exposition import render_exposition  # prometheus-client: this function only

    return render_exposition(simulator_from(settings),
                             float(moment) if moment is not None else time.time())

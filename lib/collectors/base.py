"""The collector protocol: where metrics come from (simulator, Prometheus, a custom API).

Everything downstream — store, cache, API — sees only this protocol, so switching from
the simulated fleet to real servers is one environment variable (``COLLECTOR_MODE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from lib.core import Incident, MetricRow, ServerTemplate

__all__ = ["Collector", "Snapshot"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One server's metrics at one instant, with what a live view needs beyond the row."""

    row: MetricRow
    uptime: int | None   # seconds since the server (or its service) last started
    online: bool


@runtime_checkable
class Collector(Protocol):
    """A metrics source. Failures raise lib.core.SourceUnavailable.

    ``mode`` is its COLLECTOR_MODE (shown by /api/status); ``source`` the X-Data-Source label
    of what it answers (``generator`` for the simulator, ``collector`` for a real source);
    ``seed`` the simulator's seed, None for a real source; ``in_process`` whether it computes
    its answers here, faster than any round trip to a shared cache (the simulator: a fleet
    tick in about a millisecond), so the live view keeps them in this process only.
    """

    mode: str
    source: str
    seed: int | None
    in_process: bool

    def servers(self) -> list[ServerTemplate]:
        """Every server the source knows, ordered by id."""
        ...

    def snapshot(self, server_ids: Sequence[str] | None, at: int) -> list[Snapshot]:
        """Each server's metrics at (or just before) ``at``, ordered by server id."""
        ...

    def window(
        self, start: int, end: int, step: int, server_ids: Sequence[str] | None = None
    ) -> list[MetricRow]:
        """Rows of [start, end) every ``step`` seconds, ordered by timestamp then server id."""
        ...

    def incidents(self, start: int, end: int) -> list[Incident]:
        """Ground truth overlapping [start, end); real sources have none and return []."""
        ...

    def is_online(self, server_id: str) -> bool:
        """Whether the server answers now."""
        ...

    def health(self) -> None:
        """Return when the source answers; raise SourceUnavailable otherwise."""
        ...

    def close(self) -> None: ...

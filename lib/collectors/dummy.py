"""``COLLECTOR_MODE=dummy``: the deterministic simulator as a collector."""

from __future__ import annotations

from collections.abc import Sequence

from lib.core import Incident, MetricRow, ServerTemplate
from lib.sim import MIN_STEP, Fleet, Simulator

from .base import Snapshot

__all__ = ["DummyCollector"]


class DummyCollector:
    """Serves the simulated fleet; every answer is computed, so it is always online."""

    mode = "dummy"
    source = "generator"
    in_process = True

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.seed: int | None = simulator.seed

    @property
    def fleet(self) -> Fleet:
        return self.simulator.fleet

    def servers(self) -> list[ServerTemplate]:
        return list(self.fleet.servers)

    def snapshot(self, server_ids: Sequence[str] | None, at: int) -> list[Snapshot]:
        """Metrics at the tick containing ``at`` on the 30-second live grid."""
        tick = at - at % MIN_STEP
        frame = self.simulator.frame(tick, tick + MIN_STEP, MIN_STEP, server_ids)
        uptimes = self.simulator.uptime(frame.server_ids, tick)
        return [Snapshot(row, up, True) for row, up in zip(frame.rows(), uptimes, strict=True)]

    def window(
        self, start: int, end: int, step: int, server_ids: Sequence[str] | None = None
    ) -> list[MetricRow]:
        rows: list[MetricRow] = []
        for frame in self.simulator.frames(start, end, step, server_ids):
            rows.extend(frame.rows())
        return rows

    def incidents(self, start: int, end: int) -> list[Incident]:
        return self.simulator.incidents(start, end)

    def is_online(self, server_id: str) -> bool:
        self.fleet.index(server_id)
        return True

    def health(self) -> None:
        return None

    def close(self) -> None:
        return None

"""Constructed metric rows for the analysis tests: a quiet fleet, and effects laid on top."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lib.analysis import METRICS, Panel
from lib.core import MetricRow

DAY = 86_400
START = 1_717_200_000 - 1_717_200_000 % DAY  # a UTC midnight in June 2024

ROLES = {
    "db-01": "db", "db-02": "db", "api-01": "api", "api-02": "api", "api-03": "api",
    "web-01": "web", "web-02": "web", "web-03": "web", "web-04": "web", "cache-01": "cache",
}
# cpu, memory, disk, response ms, rx KB/s, connections per role
LEVELS = {
    "db": (30.0, 60.0, 45.0, 30.0, 3000.0, 90.0),
    "api": (35.0, 55.0, 35.0, 170.0, 1600.0, 180.0),
    "web": (25.0, 48.0, 30.0, 130.0, 2400.0, 320.0),
    "cache": (12.0, 62.0, 22.0, 5.0, 5000.0, 400.0),
}


@dataclass
class Fleet:
    """(ticks × servers) arrays of a quiet fleet; tests edit them, then take rows or a panel."""

    step: int
    days: float
    servers: Sequence[str] = field(default_factory=lambda: sorted(ROLES))
    seed: int = 3

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, s = int(self.days * DAY // self.step), len(self.servers)
        self.timestamps = START + self.step * np.arange(n, dtype=np.int64)
        hour = (self.timestamps % DAY) / 3600.0
        load = 0.5 + 0.4 * np.sin(2 * np.pi * (hour - 6.0) / 24.0)  # a daily rhythm
        base = np.array([LEVELS[ROLES[sid]] for sid in self.servers])  # (S, 6)
        noise = rng.normal(size=(6, n, s))
        traffic = load[:, None] * (1.0 + 0.05 * noise[4])
        self.cpu = base[:, 0] * (0.6 + 0.8 * load[:, None]) + 1.0 * noise[0]
        self.memory = base[:, 1] + 0.3 * noise[1]
        self.disk = base[:, 2] + 0.03 * noise[2]
        self.response_time = base[:, 3] * (1.0 + 0.5 * load[:, None]) * (1.0 + 0.03 * noise[3])
        self.network_rx = base[:, 4] * traffic
        self.connections = base[:, 5] * traffic

    def col(self, server_id: str) -> int:
        return list(self.servers).index(server_id)

    def at(self, seconds: float) -> int:
        """The tick index ``seconds`` after the start."""
        return int(seconds // self.step)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "cpu": np.clip(self.cpu, 0, 100).round(2),
            "memory": np.clip(self.memory, 0, 100).round(2),
            "disk": np.clip(self.disk, 0, 100).round(2),
            "response_time": np.maximum(np.rint(self.response_time), 1),
            "network_rx": self.network_rx.round(2), "network_tx": (2 * self.network_rx).round(2),
            "connections": np.rint(self.connections),
        }

    def panel(self) -> Panel:
        return Panel.from_columns(self.timestamps, list(self.servers), self.arrays(), self.step)

    def rows(self, offline: dict[str, tuple[int, int]] | None = None) -> list[MetricRow]:
        """Rows by tick then server; ``offline`` drops a server's ticks [lo, hi)."""
        a = self.arrays()
        out = []
        for i, ts in enumerate(self.timestamps.tolist()):
            for j, sid in enumerate(self.servers):
                lo, hi = (offline or {}).get(sid, (0, 0))
                if lo <= i < hi:
                    continue
                out.append(MetricRow(
                    ts, sid, float(a["cpu"][i, j]), float(a["memory"][i, j]),
                    float(a["disk"][i, j]), int(a["response_time"][i, j]),
                    float(a["network_rx"][i, j]), float(a["network_tx"][i, j]),
                    int(a["connections"][i, j]), "healthy",
                ))
        return out


def ramp(n: int, start: int, length: int) -> np.ndarray:
    """0 before ``start``, rising linearly to 1 over ``length`` ticks, 1 after."""
    return np.clip((np.arange(n) - start) / max(length, 1), 0.0, 1.0)


def hold(n: int, start: int, length: int) -> np.ndarray:
    """1 on ticks [start, start + length), else 0."""
    out = np.zeros(n)
    out[start:start + length] = 1.0
    return out


__all__ = ["DAY", "LEVELS", "METRICS", "ROLES", "START", "Fleet", "hold", "ramp"]

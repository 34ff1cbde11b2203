"""The engine run tick by tick over a past window: every notification it would have sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lib.analysis import Detection

from .engine import EngineState, Transition, step
from .model import Notification
from .rules import RuleSet
from .view import DEFAULT_LOOKBACK, Watcher

__all__ = ["Replay", "replay"]


@dataclass(frozen=True)
class Replay:
    notifications: list[Notification]
    transitions: list[Transition]
    state: EngineState


def replay(
    detection: Detection, roles: Mapping[str, str], rules: RuleSet, start: int, end: int,
    *, sigma: Detection | None = None, lookback: int = DEFAULT_LOOKBACK,
    state: EngineState | None = None,
) -> Replay:
    """Evaluate every tick of ``detection`` in [start, end) in order, from ``state``."""
    watcher = Watcher(detection, roles, lookback, sigma)
    stamps = detection.panel.timestamps
    first, last = np.searchsorted(stamps, [start, end])
    current = state or EngineState()
    notifications: list[Notification] = []
    transitions: list[Transition] = []
    for index in range(int(first), int(last)):
        result = step(current, watcher.tick(index), rules)
        current = result.state
        notifications += result.notifications
        transitions += result.transitions
    return Replay(notifications, transitions, current)

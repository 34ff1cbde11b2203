"""Where metrics come from: the Collector protocol and the factory on ``COLLECTOR_MODE``.

``dummy`` (the simulator) is the default; ``prometheus``, ``custom`` and ``cloudwatch`` are
imported only when chosen.
"""

from __future__ import annotations

from .base import Collector, Snapshot
from .dummy import DummyCollector
from .factory import get_collector, simulator_from

__all__ = ["Collector", "DummyCollector", "Snapshot", "get_collector", "simulator_from"]

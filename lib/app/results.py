"""What a use case returns: the payload, where its data came from, how fresh it stays.

The web layer turns ``freshness`` into Cache-Control (lib.web.responses) and ``source`` into
the ``X-Data-Source`` header; nothing here knows HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lib.core import day_start

__all__ = ["Freshness", "Result", "freshness_of"]

# live: changes every tick; recent: may still change (today's history); past: settled.
Freshness = Literal["live", "recent", "past"]


@dataclass(frozen=True, slots=True)
class Result:
    """A use case's answer. ``freshness`` None means never cache it."""

    payload: dict[str, Any]
    source: str
    freshness: Freshness | None


def freshness_of(end: int | None, now: int) -> Freshness:
    """``past`` for a window that ended before today (UTC), else ``recent``."""
    return "past" if end is not None and end <= day_start(now) else "recent"

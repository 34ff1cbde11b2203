"""Parsing and formatting of UTC instants; every instant in lib/ is integer epoch seconds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidParameter

__all__ = [
    "DAY",
    "DEFAULT_STEP",
    "MIN_STEP",
    "MAX_INSTANT",
    "MIN_INSTANT",
    "check_instant",
    "check_window",
    "count_ticks",
    "day_start",
    "format_iso",
    "is_time_zone",
    "parse_date",
    "parse_instant",
    "to_datetime",
]

DAY = 86_400
# Ticks sit on the global grid of multiples of the step: stored history every 10 minutes,
# live views down to 30 s.
DEFAULT_STEP = 600
MIN_STEP = 30
# Instants accepted from callers. Generous for any real use, and far from the edges of
# datetime's range, which the generator's time-zone and day arithmetic would overflow.
MIN_INSTANT = -2_208_988_800   # 1900-01-01T00:00:00Z
MAX_INSTANT = 7_258_118_400    # 2200-01-01T00:00:00Z

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(value: str, parameter: str) -> int:
    """Parse an ISO 8601 date or date-time into epoch seconds (UTC when no offset is given).

    Fractions of a second are truncated. Raises InvalidParameter naming ``parameter``.
    """
    text = value.strip()
    if not text:
        raise InvalidParameter(parameter, "empty date-time")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if _DATE_ONLY.match(text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            parameter, f"not an ISO 8601 date-time: {value!r} (e.g. 2024-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        epoch = int(moment.timestamp() // 1)
    except (OverflowError, OSError, ValueError):
        epoch = MAX_INSTANT
    return check_instant(epoch, parameter)


def check_instant(epoch: int, parameter: str) -> int:
    """``epoch`` if it lies in 1900-01-01 .. 2199-12-31, else InvalidParameter."""
    if not MIN_INSTANT <= epoch < MAX_INSTANT:
        raise InvalidParameter(parameter, "outside the supported range 1900-01-01 .. 2199-12-31")
    return epoch


def parse_date(value: str, parameter: str) -> int:
    """Parse ``YYYY-MM-DD`` into the epoch second of that UTC midnight."""
    if not _DATE_ONLY.match(value.strip()):
        raise InvalidParameter(parameter, f"expected YYYY-MM-DD, got {value!r}")
    return parse_instant(value, parameter)


@lru_cache(maxsize=65_536)
def format_iso(epoch: int) -> str:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (cached: rows share their ticks)."""
    return to_datetime(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_datetime(epoch: int) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(epoch))


def day_start(epoch: int) -> int:
    """The UTC midnight at or before ``epoch``."""
    return epoch - epoch % DAY


def is_time_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_window(start: int, end: int, step: int, *, min_step: int = MIN_STEP) -> int:
    """The first tick of the ``step`` grid at or after ``start``, once the window is checked:
    InvalidParameter for a step that is not whole seconds >= ``min_step``, or ``end`` before
    ``start``."""
    if int(step) != step or step < min_step:
        raise InvalidParameter("step", f"must be a whole number of seconds >= {min_step}")
    if end < start:
        raise InvalidParameter("end", "end is before start")
    return -(-start // step) * step


def count_ticks(start: int, end: int, step: int) -> int:
    """How many ticks of the ``step`` grid lie in [start, end), by arithmetic."""
    first = -(-start // step) * step
    return 0 if first >= end else (end - 1 - first) // step + 1

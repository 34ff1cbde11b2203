"""The parameters' contract: one pattern per kind of value, used both to validate a request
and (by the web layer) to describe it in the OpenAPI document, so the two never disagree.

Values are named as the use cases know them (``server_id``, ``start``, ``end``, ``at``…);
each route maps those names to its own query names.

Every parser here runs in time linear in its input, caps how many values it accepts, and
never echoes more than ``ECHO_LIMIT`` characters of a bad value back in an error message.

Instants are RFC 3339 date-times with an offset (``2024-01-01T09:30:00Z``,
``2024-01-01T18:30:00.5+09:00``) or plain dates (``2024-01-01``, UTC midnight), in the years
1900–2199 as written; an offset that carries an instant just outside that range is clamped
to it. The patterns are exact (month lengths and leap years included): a value matches if
and only if the functions accept it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from lib.core import MAX_INSTANT, MIN_INSTANT, InvalidParameter, RangeError, format_iso

__all__ = [
    "CURSOR_PATTERN",
    "DATE_PATTERN",
    "DATE_TIME_PATTERN",
    "ECHO_LIMIT",
    "MAX_ITEMS",
    "MAX_SERVER_IDS",
    "ALERT_CURSOR_PATTERN",
    "VALUE_SCHEMAS",
    "SERVER_ID_PATTERN",
    "check_order",
    "decode_cursor",
    "encode_cursor",
    "echo",
    "optional_instant",
    "parse_date",
    "parse_instant",
    "parse_server_id",
    "split_values",
]

ECHO_LIMIT: Final = 64
MAX_SERVER_IDS: Final = 100

_YEAR = "(?:19|20|21)[0-9]{2}"
_LEAP_YEAR = "(?:(?:19|20|21)(?:0[48]|[2468][048]|[13579][26])|2000)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
_OFFSET = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_SERVER_ID = "[A-Za-z0-9][A-Za-z0-9._:-]{0,49}"

DATE_PATTERN: Final = f"^{_DATE}$"
DATE_TIME_PATTERN: Final = f"^{_DATE}T{_TIME}{_OFFSET}$"
SERVER_ID_PATTERN: Final = f"^{_SERVER_ID}$"
# A keyset position: "rows after this (timestamp, server id)", e.g. 2024-01-01T00:10:00Z~web-01.
CURSOR_PATTERN: Final = f"^{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z~{_SERVER_ID}$"
# An alert list's position: the start of the last alert shown, and its fingerprint.
ALERT_CURSOR_PATTERN: Final = f"^{_DATE}T{_TIME}{_OFFSET}~[0-9a-f]{{16}}$"

_DATE_RE = re.compile(DATE_PATTERN, re.ASCII)
_DATE_TIME_RE = re.compile(
    f"^(?P<date>{_DATE})T(?P<h>[01][0-9]|2[0-3]):(?P<m>[0-5][0-9]):(?P<s>[0-5][0-9])"
    f"(?:\\.[0-9]{{1,9}})?(?P<offset>{_OFFSET})$",
    re.ASCII,
)
_SERVER_ID_RE = re.compile(SERVER_ID_PATTERN, re.ASCII)
_CURSOR_RE = re.compile(CURSOR_PATTERN, re.ASCII)


def echo(value: str) -> str:
    """``value`` quoted for an error message, cut to ECHO_LIMIT characters."""
    if len(value) <= ECHO_LIMIT:
        return repr(value)
    return repr(value[:ECHO_LIMIT]) + f"… ({len(value)} characters)"


def _clamp(epoch: int) -> int:
    return min(max(epoch, MIN_INSTANT), MAX_INSTANT - 1)


def parse_date(value: str, parameter: str) -> int:
    """``YYYY-MM-DD`` (1900–2199) as the epoch second of that UTC midnight."""
    if not _DATE_RE.match(value):
        raise InvalidParameter(parameter, f"expected a date YYYY-MM-DD in 1900..2199, got "
                               f"{echo(value)}")
    day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(day.timestamp())


def parse_instant(value: str, parameter: str) -> int:
    """An RFC 3339 date-time with offset, or a date (UTC midnight), as epoch seconds.

    Fractions of a second are truncated; the result is clamped to 1900-01-01T00:00:00Z ..
    2199-12-31T23:59:59Z (only an offset at the very edges can reach past them).
    """
    match = _DATE_TIME_RE.match(value)
    if match is None:
        if _DATE_RE.match(value):
            return parse_date(value, parameter)
        raise InvalidParameter(parameter, "expected an RFC 3339 date-time such as "
                               f"2024-01-01T00:00:00Z, or a date, got {echo(value)}")
    day = datetime.strptime(match["date"], "%Y-%m-%d").replace(tzinfo=UTC)
    seconds = int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"])
    offset = match["offset"]
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return _clamp(int((day + timedelta(seconds=seconds)).timestamp()))


def split_values(values: Iterable[str] | None, parameter: str, limit: int) -> list[str]:
    """Repeated and comma-separated values in order, repeats dropped.

    Linear in the input. More than ``limit`` values in all, or an empty item (``a,,b``, or
    an empty value), is an InvalidParameter.
    """
    seen: dict[str, None] = {}
    count = 0
    for value in values or ():
        for part in value.split(","):
            count += 1
            if count > limit:
                raise InvalidParameter(parameter, f"at most {limit} values")
            if not part:
                raise InvalidParameter(parameter, "an empty item in a comma-separated list")
            seen.setdefault(part, None)
    return list(seen)


def parse_server_id(value: str, parameter: str) -> str:
    """A well-formed server id (letters, digits, ``. _ : -``; at most 50 characters)."""
    if not _SERVER_ID_RE.match(value):
        raise InvalidParameter(parameter, f"not a server id: {echo(value)}")
    return value


def encode_cursor(timestamp: int, server_id: str) -> str:
    """The position after the row (timestamp, server_id), as ``next_cursor`` shows it."""
    return f"{format_iso(timestamp)}~{server_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(timestamp, server id) of a cursor; InvalidParameter unless it matches exactly."""
    if not _CURSOR_RE.match(cursor):
        raise InvalidParameter("cursor", "not a cursor returned by this API (expected "
                               f"TIMESTAMP~SERVER, e.g. 2024-01-01T00:10:00Z~web-01), got "
                               f"{echo(cursor)}")
    instant, server_id = cursor.split("~", 1)
    return parse_instant(instant, "cursor"), server_id


def optional_instant(value: str | None, parameter: str) -> int | None:
    """``parse_instant`` of a value that may be absent."""
    return None if value is None else parse_instant(value, parameter)


def check_order(start: int | None, end: int | None) -> None:
    """RangeError (naming ``end``) when both are given and ``end`` comes before ``start``."""
    if start is not None and end is not None and end < start:
        raise RangeError("end", "must not be before the start of the window")


def _string(pattern: str, example: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "example": example, **extra}


_INSTANT: dict[str, Any] = {
    "anyOf": [
        _string(DATE_TIME_PATTERN, "2024-01-01T00:00:00Z", format="date-time"),
        _string(DATE_PATTERN, "2024-01-01", format="date"),
    ],
}

# The JSON schema of each value, by the name the use cases give it; ``max_items`` for values
# a request may list (comma-separated or repeated).
VALUE_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "server_id": _string(SERVER_ID_PATTERN, "web-01"),
    "status": {"type": "string", "enum": ["healthy", "warning", "critical"]},
    "metric": {"type": "string",
               "enum": ["cpu", "memory", "disk", "network", "response_time"]},
    "resolution": {"type": "string", "enum": ["1h", "1d"]},
    "cursor": _string(CURSOR_PATTERN, "2024-01-01T00:10:00Z~web-01"),
    "alert_cursor": _string(ALERT_CURSOR_PATTERN, "2024-01-01T00:10:00Z~3e36f4d4b2dc22c8"),
    "state": {"type": "string", "enum": ["pending", "firing", "resolved"]},
    "severity": {"type": "string", "enum": ["warning", "critical"]},
    "date": _string(DATE_PATTERN, "2024-01-01", format="date"),
    "start": _INSTANT,
    "end": _INSTANT,
    "at": _INSTANT,
    "q": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S",
          "example": "is db-01 ok?"},
}
MAX_ITEMS: Final[dict[str, int]] = {"server_id": MAX_SERVER_IDS, "status": 3, "state": 3}

"""The cron job: ``/api/generate-batch`` — collect a window into the store, prune past the
retention, refresh the live cache."""

from __future__ import annotations

import hmac

from lib.cache import Cache
from lib.collectors import Collector
from lib.core import DAY, AuthError, ConfigError, RangeError, Settings, format_iso
from lib.sim import DEFAULT_STEP
from lib.store import MetricStore

from .live import refresh_latest
from .params import optional_instant, parse_date
from .pipeline import default_window, store_window
from .results import Result

__all__ = ["MAX_BATCH_DAYS", "authorize_cron", "batch_window", "generate_batch"]

MAX_BATCH_DAYS = 7


def authorize_cron(settings: Settings, token: str | None, *, local: bool = False) -> None:
    """The bearer token must equal CRON_SECRET (compared in constant time).

    With no secret set the batch refuses to run anywhere (ConfigError: 503), except on the
    local development server (``local``), which says so when it starts.
    """
    secret = settings.cron_secret
    if not secret:
        if local:
            return
        raise ConfigError("CRON_SECRET", "not set; the batch refuses to run unprotected")
    if not hmac.compare_digest((token or "").encode(), secret.encode()):
        raise AuthError("missing or wrong Authorization bearer token")


def batch_window(date: str | None, start: str | None, end: str | None, now: int
                 ) -> tuple[int, int]:
    """The window a batch request asks for: each value checked, then how they combine."""
    day = None if date is None else parse_date(date, "date")
    lo, hi = optional_instant(start, "start"), optional_instant(end, "end")
    if day is not None:
        if start is not None or end is not None:
            raise RangeError("date", "use either date or start/end, not both")
        return day, day + DAY
    if lo is None and hi is None:
        return default_window(now)
    if lo is None or hi is None:
        raise RangeError("start" if lo is None else "end", "start and end go together")
    if hi <= lo:
        raise RangeError("end", "must be after start")
    if hi - lo > MAX_BATCH_DAYS * DAY:
        raise RangeError("end", f"a batch covers at most {MAX_BATCH_DAYS} days")
    return lo, hi


def generate_batch(
    store: MetricStore, hot: Cache, warm: Cache, collector: Collector, settings: Settings,
    now: int, *, date: str | None, start: str | None, end: str | None,
) -> Result:
    """Collect the window into the store, prune past retention, refresh the live cache."""
    lo, hi = batch_window(date, start, end, now)
    # History is what has happened: the window stops at the current tick.
    hi = min(hi, now - now % DEFAULT_STEP + DEFAULT_STEP)
    if hi <= lo:
        raise RangeError("date" if date is not None else "start", "the window lies in the future")
    cutoff = now - settings.retention_hours * 3600
    if hi <= cutoff:
        raise RangeError("date" if date is not None else "end",
                         f"the window ends before the retention cutoff {format_iso(cutoff)} "
                         f"(RETENTION_HOURS={settings.retention_hours}); it would be pruned")
    result = store_window(collector, store, lo, hi)
    pruned = store.prune(cutoff)
    pruned_history = store.prune_history(now - settings.history_retention_days * DAY)
    cached = refresh_latest(collector, hot, warm, settings, now)
    return Result(
        {"window": result.window(), "rows": result.rows, "incidents": result.incidents,
         "pruned": pruned, "pruned_history": pruned_history, "cached": cached,
         "duration_ms": result.duration_ms},
        collector.source, None,
    )

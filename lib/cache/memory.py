"""A per-process cache: TTLs, bounded size with LRU eviction, safe across threads.

Each Vercel function instance gets its own; nothing is shared between instances, which is why
Upstash is preferred once configured (SPEC §7).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

__all__ = ["DEFAULT_MAX_ENTRIES", "MemoryCache"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 10_000


class MemoryCache:
    """Strings with TTLs in an LRU-ordered dict; the least recently used entry goes first.

    ``clock`` returns seconds on a monotonic scale; tests inject a fake one to expire entries
    without sleeping.
    """

    name = "memory"

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (expires_at, value); order is recency of use, oldest first.
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        """Entries held, expired ones included until they are next touched or evicted."""
        with self._lock:
            return len(self._entries)

    def get(self, key: str) -> str | None:
        """The value under ``key``, or None when absent or expired."""
        with self._lock:
            return self._get_locked(key, self._clock())

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values in the order of ``keys``; None for each miss."""
        with self._lock:
            now = self._clock()
            return [self._get_locked(key, now) for key in keys]

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store ``value`` for ``ttl`` seconds; a ttl below 1 is ignored (Redis refuses it)."""
        self.set_many({key: value}, ttl)

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Store ``value`` only if ``key`` holds nothing unexpired; True when stored."""
        if ttl < 1:
            return True
        with self._lock:
            now = self._clock()
            if self._get_locked(key, now) is not None:
                return False
            self._entries[key] = (now + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
            return True

    def set_many(self, items: Mapping[str, str], ttl: int) -> None:
        """Store every item with the same TTL, evicting the least recently used beyond the bound."""
        if ttl < 1:
            logger.warning("memory cache: ignoring set with ttl=%s (must be >= 1)", ttl)
            return
        with self._lock:
            expires_at = self._clock() + ttl
            for key, value in items.items():
                self._entries[key] = (expires_at, value)
                self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._entries.pop(key, None)

    def ping(self) -> bool:
        """Always True: the cache is this process's memory."""
        return True

    def close(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def _get_locked(self, key: str, now: float) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if now >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

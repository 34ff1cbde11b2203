"""Pick the cache backend from the settings (``CACHE_BACKEND=auto|memory|upstash|none``).

``auto`` uses Upstash when both its URL and token are set (``UPSTASH_REDIS_REST_URL``/``_TOKEN``,
else Vercel's ``KV_REST_API_URL``/``_TOKEN``), otherwise one process-wide in-memory cache.
``none`` turns caching off (every read misses). An explicit ``upstash`` whose URL or token is
missing, or whose URL is not http(s), raises ConfigError naming the variable. The Upstash adapter
(and the SDK behind it) is imported only when chosen, so the in-memory default starts faster.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from lib.core import ConfigError, Settings, get_settings, http_url_problem

from .base import Cache
from .memory import MemoryCache

__all__ = ["NullCache", "get_cache", "process_cache"]

logger = logging.getLogger(__name__)


class NullCache:
    """A cache that holds nothing: every read misses, every write is dropped."""

    name = "none"

    def get(self, key: str) -> str | None:
        return None

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [None] * len(keys)

    def set(self, key: str, value: str, ttl: int) -> None:
        return None

    def set_many(self, items: Mapping[str, str], ttl: int) -> None:
        return None

    def add(self, key: str, value: str, ttl: int) -> bool:
        """True: with nothing shared there is nothing to contend for."""
        return True

    def delete(self, key: str) -> None:
        return None

    def ping(self) -> bool:
        """True: there is no backend that could fail to answer."""
        return True

    def close(self) -> None:
        return None


# Built at import (it is only an empty dict) so that concurrent first calls cannot race.
_PROCESS_MEMORY_CACHE = MemoryCache()


def process_cache() -> MemoryCache:
    """This process's memory: the hot layer in front of whichever cache is configured."""
    return _PROCESS_MEMORY_CACHE


def get_cache(settings: Settings | None = None) -> Cache:
    """The cache the settings ask for; ConfigError naming the variable when they are unusable.

    An Upstash cache is new on each call (the caller keeps and closes it; nothing is contacted
    here). The memory cache is one per process, so every caller in a function instance shares
    the same warm entries.
    """
    settings = settings if settings is not None else get_settings()
    backend = settings.cache_backend
    if backend == "none":
        return NullCache()
    url, _, token = _upstash_credentials(settings)
    if backend == "upstash" or (backend == "auto" and url and token):
        return _upstash_cache(settings)
    if backend == "auto" and (url or token):
        logger.warning(
            "only one of the Upstash REST URL and token is set; using the in-memory cache "
            "(set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN)"
        )
    return _PROCESS_MEMORY_CACHE


def _upstash_cache(settings: Settings) -> Cache:
    url, url_variable, token = _upstash_credentials(settings)
    if not url:
        raise ConfigError(
            "UPSTASH_REDIS_REST_URL", "required when CACHE_BACKEND=upstash (or KV_REST_API_URL)"
        )
    if not token:
        raise ConfigError(
            "UPSTASH_REDIS_REST_TOKEN",
            "required when CACHE_BACKEND=upstash (or KV_REST_API_TOKEN)",
        )
    problem = http_url_problem(url, "https://xyz.upstash.io")
    if problem is not None:
        raise ConfigError(url_variable, problem)
    # imported here, never at module level: see the module docstring
    from .upstash import UpstashCache

    return UpstashCache(url, token, timeout=settings.cache_timeout_seconds)


def _upstash_credentials(settings: Settings) -> tuple[str | None, str, str | None]:
    """(URL, the variable it came from, token): Upstash's own names first, then Vercel KV's
    (Settings counts a blank value as unset, so a blank own name falls back)."""
    variable = "UPSTASH_REDIS_REST_URL" if settings.upstash_redis_rest_url else "KV_REST_API_URL"
    return settings.upstash_url, variable, settings.upstash_token

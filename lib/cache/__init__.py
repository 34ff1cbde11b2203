"""The warm layer: the Cache protocol (never fails its caller) and its factory.

Backends: one in-memory cache per process (default), Upstash Redis over REST (imported only
when chosen), or none.
"""

from __future__ import annotations

from .base import Cache
from .factory import NullCache, get_cache, process_cache
from .memory import MemoryCache

__all__ = ["Cache", "MemoryCache", "NullCache", "get_cache", "process_cache"]

"""The cache protocol: a string key-value store with TTLs that never fails its caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Cache"]


@runtime_checkable
class Cache(Protocol):
    """Every method swallows backend errors and timeouts (logged): reads become misses."""

    name: str

    def get(self, key: str) -> str | None: ...

    def get_many(self, keys: Sequence[str]) -> list[str | None]: ...

    def set(self, key: str, value: str, ttl: int) -> None: ...

    def set_many(self, items: Mapping[str, str], ttl: int) -> None: ...

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Set ``key`` only if it is absent (Redis ``SET NX EX``): True when this call set it.
        A backend that fails answers True (fail open: the caller's own checks still hold)."""
        ...

    def delete(self, key: str) -> None: ...

    def ping(self) -> bool:
        """True when the backend answers now."""
        ...

    def close(self) -> None: ...

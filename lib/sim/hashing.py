"""Counter-based hashing: every random number is a pure function of integers.

``mix64`` is SplitMix64's finaliser. Keys are folded together with it, so a value
depends only on (seed, stream, server, tick) and never on call order, process or
Python's string ``hash()``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

__all__ = [
    "Stream",
    "mix64",
    "quad",
    "stable_key",
    "uniform",
]

U64 = np.uint64
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_INV_2_53 = 1.0 / (1 << 53)

UInt64Array = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]


def stable_key(text: str) -> int:
    """A 64-bit integer for a string, identical in every process (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _mix_int(x: int) -> int:
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * _M1) & _MASK
    x = ((x ^ (x >> 27)) * _M2) & _MASK
    return x ^ (x >> 31)


def fold(*keys: int) -> int:
    """Combine integer keys into one 64-bit key (order matters)."""
    acc = 0
    for key in keys:
        acc = _mix_int(acc ^ (key & _MASK))
    return acc


def mix64(x: UInt64Array) -> UInt64Array:
    """SplitMix64 finaliser applied elementwise (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        z = (x ^ (x >> U64(30))) * U64(_M1)
        z = (z ^ (z >> U64(27))) * U64(_M2)
        return z ^ (z >> U64(31))


def _hash(key: int | UInt64Array, counter: npt.ArrayLike) -> UInt64Array:
    """SplitMix64's ``counter``-th output for seed ``key``: one multiply-add and one finaliser."""
    c = np.asarray(counter).astype(np.int64).view(np.uint64)
    k = U64(key & _MASK) if isinstance(key, int) else np.asarray(key, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(c * U64(_GOLDEN) + k)


def uniform(key: int | UInt64Array, counter: npt.ArrayLike) -> FloatArray:
    """Uniform floats in [0, 1) from a key (scalar or per-column array) and integer counters."""
    return (_hash(key, counter) >> U64(11)).astype(np.float64) * _INV_2_53


def quad(key: int | UInt64Array, counter: npt.ArrayLike) -> tuple[FloatArray, ...]:
    """Four independent uniforms in [0, 1) (16-bit resolution) cut from one 64-bit hash."""
    h = _hash(key, counter)
    lane = U64(0xFFFF)
    scale = 1.0 / 65_536.0
    return tuple(((h >> U64(16 * i)) & lane).astype(np.float64) * scale for i in range(4))


class Stream:
    """A small deterministic random stream for scalar draws (incident schedules)."""

    def __init__(self, *keys: int) -> None:
        self._key = fold(*keys)
        self._n = 0

    def random(self) -> float:
        """The next uniform float in [0, 1)."""
        self._n += 1
        return (_mix_int(self._key ^ _mix_int(self._n)) >> 11) * _INV_2_53

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high] inclusive."""
        return low + min(int(self.random() * (high - low + 1)), high - low)

    def choice(self, items: list[str] | tuple[str, ...]) -> str:
        return items[self.randint(0, len(items) - 1)]

    def bernoulli(self, p: float) -> bool:
        return self.random() < p

"""Status thresholds and the vectorised classifier.

A row is ``critical`` when any metric reaches its critical threshold, else ``warning``
when any reaches its warning threshold, else ``healthy``. Thresholds are inclusive.

| metric        | warning | critical |
|---------------|---------|----------|
| cpu %         | 70      | 90       |
| memory %      | 80      | 95       |
| disk %        | 80      | 90       |
| response (ms) | per role, see RESPONSE_THRESHOLDS |
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from lib.core import STATUSES, Status

__all__ = [
    "RESOURCE_THRESHOLDS",
    "RESPONSE_THRESHOLDS",
    "classify",
    "status_name",
]

RESOURCE_THRESHOLDS: Final[dict[str, tuple[float, float]]] = {
    "cpu": (70.0, 90.0),
    "memory": (80.0, 95.0),
    "disk": (80.0, 90.0),
}

# Response time (ms) per role: (warning, critical). Cache answers in single-digit
# milliseconds, workers run slow batch calls.
RESPONSE_THRESHOLDS: Final[dict[str, tuple[float, float]]] = {
    "web": (300.0, 800.0),
    "api": (450.0, 1_000.0),
    "db": (150.0, 500.0),
    "cache": (40.0, 150.0),
    "worker": (2_000.0, 6_000.0),
}

FloatArray = npt.NDArray[np.float64]


def classify(
    cpu: npt.ArrayLike,
    memory: npt.ArrayLike,
    disk: npt.ArrayLike,
    response_time: npt.ArrayLike,
    response_warning: npt.ArrayLike,
    response_critical: npt.ArrayLike,
) -> npt.NDArray[np.int8]:
    """Status codes (0 healthy, 1 warning, 2 critical); a NaN response time is ignored."""
    c, m, d = (np.asarray(x, dtype=np.float64) for x in (cpu, memory, disk))
    rt = np.asarray(response_time, dtype=np.float64)
    rt_warn = np.asarray(response_warning, dtype=np.float64)
    rt_crit = np.asarray(response_critical, dtype=np.float64)
    t = RESOURCE_THRESHOLDS
    with np.errstate(invalid="ignore"):
        critical = (
            (c >= t["cpu"][1]) | (m >= t["memory"][1]) | (d >= t["disk"][1]) | (rt >= rt_crit)
        )
        warning = (
            (c >= t["cpu"][0]) | (m >= t["memory"][0]) | (d >= t["disk"][0]) | (rt >= rt_warn)
        )
    return np.where(critical, 2, np.where(warning, 1, 0)).astype(np.int8)


def status_name(code: int) -> Status:
    """The status string of a code from ``classify``."""
    return STATUSES[int(code)]

"""Pattern: which of the seven failure patterns an incident shows, from its metric signature.

The signature is measured on the incident's most likely origin against the baseline frozen
at its onset, over the whole episode (docs/analysis.md, "Pattern"): how far each channel
rose, how early in the episode it got halfway there, and how long the episode lasted. How the
incident spread (``spread_kind``) settles db locks and multi-server cascades; single-server
incidents are told apart by rules on the signature, each pattern scoring the evidence for it.
The confidence is the winning score's share after a softmax; ``unknown`` when no pattern
scores enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baseline import DRIFTING
from .detect import Detection
from .episodes import Episode
from .panel import CHANNELS

__all__ = ["PATTERNS", "Signature", "classify", "measure"]

PATTERNS = (
    "memory_leak", "cpu_spike", "disk_full", "cascade_failure", "network_latency", "db_lock",
    "gradual_degradation",
)


@dataclass(frozen=True)
class Signature:
    """The origin's anomaly: per channel, its sustained rise (80th percentile of the deviation
    from the frozen baseline, in channel units and in z) and the share of the episode after
    which it was halfway up; the episode's duration (seconds) and the role."""

    role: str
    duration: float
    rise: dict[str, float]
    z: dict[str, float]
    half: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {
            "role": self.role, "duration_s": round(self.duration),
            "rise": {k: round(v, 3) for k, v in self.rise.items()},
            "z": {k: round(v, 2) for k, v in self.z.items()},
        }


def measure(
    detection: Detection, episode: Episode, role: str, span: int = 6 * 3600,
    lead: int = 0,
) -> Signature:
    """The signature of ``episode`` (its first ``span`` seconds at most).

    Resources that fill up slowly (memory, disk) are measured against the baseline as it
    stood ``lead`` seconds before the onset: a slow leak is often caught only once its
    latency suffers, by when the baseline at the onset has swallowed most of its climb.
    """
    base = detection.baseline
    lo = episode.first
    hi = min(episode.last_extent + 1, lo + span // detection.panel.step + 1)
    hi = max(hi, lo + 1)
    early = max(0, lo - lead // detection.panel.step)
    rise, z, half = {}, {}, {}
    for c, name in enumerate(CHANNELS):
        at = early if name in DRIFTING else lo
        dev = np.nan_to_num(base.frozen(c, episode.column, at, lo, hi), nan=0.0)
        # a sustained rise, not a single burst: the 80th percentile over the episode
        peak = float(np.quantile(dev, 0.8)) if len(dev) > 2 else float(dev.max())
        rise[name] = peak
        z[name] = peak / float(base.sigma[c, lo, episode.column])
        half[name] = float(np.argmax(dev >= peak / 2)) / max(len(dev) - 1, 1) if peak > 0 else 1.0
    return Signature(role, float(episode.extent), rise, z, half)


def _above(x: float, at: float, width: float) -> float:
    """Soft step: 0 well below ``at``, 1 well above (logistic of width ``width``)."""
    return float(1.0 / (1.0 + np.exp(-(x - at) / width)))


def _below(x: float, at: float, width: float) -> float:
    return 1.0 - _above(x, at, width)


def _scores(sig: Signature) -> dict[str, float]:
    """Evidence for each single-server pattern (0 – about 2)."""
    r, z = sig.rise, sig.z
    lock_role = 1.0 if sig.role == "db" else 0.0
    no_disk = _below(r["disk"], 1.5, 0.4)
    no_memory = _below(r["memory"], 5.0, 1.5)
    steady_traffic = _below(z["net"], 3.5, 0.5)
    return {
        # a disk filling up far beyond its weekly creep
        "disk_full": 2.0 * _above(r["disk"], 15.0, 2.0),
        # everything climbs together, the disk by a few points
        "gradual_degradation": 1.5 * _above(r["disk"], 1.5, 0.4) * _below(r["disk"], 15.0, 2.0)
        * max(_above(r["memory"], 3.0, 1.5), _above(z["conn"], 4.0, 1.0),
              _above(z["cpu"], 4.0, 1.0)),
        # saturation: CPU and memory up, throughput down, connections piling up
        "cascade_failure": 2.0 * _above(z["net"], 3.5, 0.5) * _above(r["memory"], 8.0, 2.0)
        * _above(z["conn"], 6.0, 1.5),
        # memory climbs alone (CPU and latency may follow), the disk does not
        "memory_leak": 1.5 * _above(r["memory"], 5.0, 1.5) * no_disk * steady_traffic
        * (0.5 + 0.5 * _below(z["conn"], 6.0, 1.5)),
        # a db holding locks: its connections triple, memory untouched
        "db_lock": 2.0 * lock_role * _above(r["conn"], 0.6, 0.1) * no_memory * no_disk,
        # only latency moves
        "network_latency": 2.0 * _above(z["latency"], 8.0, 2.0) * _below(z["cpu"], 5.0, 1.5)
        * _below(z["conn"], 3.0, 1.0) * _below(z["memory"], 4.0, 1.0),
        # CPU surges with connections, nothing accumulates
        "cpu_spike": 1.5 * _above(z["cpu"], 5.0, 1.5) * _above(z["conn"], 3.0, 1.0) * no_memory
        * no_disk * steady_traffic * (1.0 - lock_role * _above(r["conn"], 0.6, 0.1)),
    }


def classify(sig: Signature, kind: str, temperature: float = 4.0) -> tuple[str, float]:
    """(pattern, confidence) from the origin's signature and how the incident spread.

    A db lock or a multi-server cascade is told by its spread (``kind`` from
    ``incidents.spread_kind``; a cascade only when its origin's memory rose too); a single
    server's pattern by the rules of ``_scores``.
    """
    scores = _scores(sig)
    if kind in ("db_lock", "waiting"):
        scores["db_lock"] += 3.0
    elif kind == "cascade":
        # servers saturating together; a cascade's origin gains memory, a lock's does not
        scores["cascade_failure"] += 3.0 * _above(sig.rise["memory"], 5.0, 1.5)
    names = list(scores)
    values = np.array([scores[n] for n in names])
    best = int(np.argmax(values))
    if values[best] < 0.3:
        return "unknown", float(1.0 - values[best])
    weights = np.exp(temperature * (values - values[best]))
    return names[best], float(weights[best] / weights.sum())

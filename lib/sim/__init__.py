"""The simulated fleet: profiles, counter-based hashing, failure scenarios, status rules and
the deterministic generator. Imports only ``lib.core``.

``lib.sim.exposition`` (the fleet in Prometheus text format) is imported by module: it pulls
in prometheus-client, which no other function needs at cold start.
"""

from __future__ import annotations

from .fleet import FLEET_PROFILES, Fleet, get_fleet, scaled_fleet
from .generator import (
    DEFAULT_STEP,
    MIN_STEP,
    ROLE_PROFILES,
    MetricFrame,
    RoleProfile,
    Simulator,
    tick_grid,
)
from .scenarios import PATTERNS, PatternSpec, incidents_between, make_incident
from .status import RESOURCE_THRESHOLDS, RESPONSE_THRESHOLDS, classify, status_name

__all__ = [
    "DEFAULT_STEP",
    "FLEET_PROFILES",
    "MIN_STEP",
    "PATTERNS",
    "RESOURCE_THRESHOLDS",
    "RESPONSE_THRESHOLDS",
    "ROLE_PROFILES",
    "Fleet",
    "MetricFrame",
    "PatternSpec",
    "RoleProfile",
    "Simulator",
    "classify",
    "get_fleet",
    "incidents_between",
    "make_incident",
    "scaled_fleet",
    "status_name",
    "tick_grid",
]

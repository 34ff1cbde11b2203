"""Pick the collector from ``COLLECTOR_MODE`` (dummy | prometheus | custom | cloudwatch)."""

from __future__ import annotations

from lib.core import ConfigError, Settings, get_settings
from lib.sim import Simulator, get_fleet

from .base import Collector
from .dummy import DummyCollector

__all__ = ["get_collector", "simulator_from"]


def simulator_from(settings: Settings) -> Simulator:
    """The simulator the settings describe (seed, fleet profile, time zone)."""
    return Simulator(settings.metrics_seed, get_fleet(settings.fleet_profile),
                     settings.fleet_timezone)


def get_collector(settings: Settings | None = None) -> Collector:
    """A collector for the configured mode; ConfigError naming the variable when misconfigured."""
    settings = settings if settings is not None else get_settings()
    mode = settings.collector_mode
    if mode == "dummy":
        return DummyCollector(simulator_from(settings))
    # Real sources are imported only when chosen: the dummy default stays light.
    if mode == "prometheus":
        from .prometheus import PrometheusCollector

        return PrometheusCollector.from_settings(settings)
    if mode == "custom":
        from .custom import CustomCollector

        return CustomCollector.from_settings(settings)
    if mode == "cloudwatch":  # the AWS SDK is imported here only
        from .cloudwatch import CloudWatchCollector

        return CloudWatchCollector.from_settings(settings)
    raise ConfigError("COLLECTOR_MODE",
                      f"unknown mode {mode!r} (dummy, prometheus, custom, cloudwatch)")

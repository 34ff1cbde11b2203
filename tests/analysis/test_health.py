"""Health score formula and time-to-threshold forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from lib.analysis import DEFAULT_THRESHOLDS, analyze_panel, describe_server, forecast, health_score
from lib.analysis.health import pressure

from .synthetic import DAY, ROLES, Fleet, ramp


def test_pressure_is_zero_then_half_at_warning_then_one_at_critical() -> None:
    assert pressure(50.0, 70.0, 90.0) == 0.0
    assert pressure(56.0, 70.0, 90.0) == 0.0
    assert pressure(70.0, 70.0, 90.0) == pytest.approx(0.5)
    assert pressure(80.0, 70.0, 90.0) == pytest.approx(0.75)
    assert pressure(99.0, 70.0, 90.0) == 1.0


def test_health_formula() -> None:
    calm = {"cpu": 30.0, "memory": 50.0, "disk": 40.0, "response_time": 100.0}
    assert health_score(calm, 1.0, "web", DEFAULT_THRESHOLDS)[0] == 100
    hot = {**calm, "cpu": 95.0}
    assert health_score(hot, 1.0, "web", DEFAULT_THRESHOLDS)[0] == 40
    assert health_score(hot, 12.0, "web", DEFAULT_THRESHOLDS)[0] == 0
    slow = {**calm, "response_time": 550.0}  # halfway between web's 300 and 800 ms
    assert health_score(slow, 6.0, "web", DEFAULT_THRESHOLDS)[0] == round(100 * (1 - 0.45 - 0.2))


def test_a_linear_disk_ramp_is_forecast_with_an_interval() -> None:
    ts = np.arange(0, 6 * 3600, 600, dtype=np.int64)
    disk = 60.0 + 2.0 * ts / 3600.0 + np.random.default_rng(0).normal(0, 0.05, len(ts))
    out = forecast(ts, {"disk": disk}, {"disk": (80.0, 90.0)})["disk"]
    assert out["slope_per_hour"] == pytest.approx(2.0, abs=0.05)
    warning = out["warning"]
    assert isinstance(warning, dict)
    now_level = 60.0 + 2.0 * ts[-1] / 3600.0
    assert warning["seconds"] == pytest.approx((80.0 - now_level) / 2.0 * 3600, rel=0.05)
    lo, hi = warning["interval_s"]
    assert lo <= warning["seconds"] <= hi


def test_a_flat_or_falling_resource_has_no_crossing() -> None:
    ts = np.arange(0, 6 * 3600, 600, dtype=np.int64)
    out = forecast(ts, {"memory": 70.0 - ts / 3600.0}, {"memory": (80.0, 95.0)})
    assert out["memory"]["warning"] is None and out["memory"]["critical"] is None


def test_describe_server_reports_health_anomalies_and_forecast() -> None:
    fleet = Fleet(600, 3)
    n = len(fleet.timestamps)
    at = fleet.at(2 * DAY + 12 * 3600)
    col = fleet.col("db-01")
    fleet.disk[:, col] += 30.0 * ramp(n, at, 36)
    analysis = analyze_panel(fleet.panel(), ROLES)
    now = int(fleet.timestamps[at + 20])
    view = describe_server(analysis.detection, "db-01", now, "db")
    assert view["alarm"] is True
    assert any(a["metric"] == "disk" for a in view["anomalies"])  # type: ignore[union-attr]
    assert view["health"] < 100
    disk = view["forecast"]["disk"]  # type: ignore[index]
    assert disk["warning"] is not None and disk["slope_per_hour"] > 3

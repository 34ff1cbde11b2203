"""Each stage of the analysis on constructed rows: a step, a leak, a cascade, an offline server."""

from __future__ import annotations

import numpy as np
import pytest

from lib.analysis import (
    CHANNELS,
    BaselineConfig,
    DetectorConfig,
    Panel,
    analyze_panel,
    channels,
    compute_baseline,
    detect,
    find_episodes,
)
from lib.analysis.detect import DetectorState, run_cusum, sliding_min

from .synthetic import DAY, ROLES, START, Fleet, hold, ramp


def test_rows_land_on_the_grid_with_nan_for_missing_servers() -> None:
    fleet = Fleet(600, 1)
    rows = fleet.rows(offline={"web-02": (10, 20)})
    panel = Panel.from_rows(rows)
    assert panel.step == 600
    assert panel.shape == (144, len(ROLES))
    col = panel.server_ids.index("web-02")
    assert np.isnan(panel.values["cpu"][10:20, col]).all()
    assert not np.isnan(panel.values["cpu"][:10, col]).any()
    assert panel.values["cpu"][5, col] == rows[5 * len(ROLES) + col].cpu


def test_the_baseline_uses_only_the_past() -> None:
    fleet = Fleet(600, 3)
    panel = fleet.panel()
    values = channels(panel)
    full = compute_baseline(values, panel.timestamps, 600)
    cut = 2 * 144 + 50
    early = compute_baseline(values[:, :cut], panel.timestamps[:cut], 600)
    np.testing.assert_array_equal(full.z[:, :cut], early.z)


def test_a_flat_series_with_one_step_alarms_at_the_step_only() -> None:
    fleet = Fleet(600, 3)
    at = fleet.at(2 * DAY + 13 * 3600)
    col = fleet.col("api-02")
    fleet.cpu[at:, col] += 30.0
    fleet.response_time[at:, col] *= 2.0
    detection = detect(fleet.panel())
    episodes = [e for e in find_episodes(detection) if e.onset >= START + DAY]
    assert [e.server_id for e in episodes] == ["api-02"]
    assert episodes[0].onset == int(fleet.timestamps[at])
    assert episodes[0].alarm <= int(fleet.timestamps[at + 2])
    assert {"cpu", "latency"} <= episodes[0].channels


@pytest.mark.parametrize("mode", ["robust", "adaptive"])
def test_both_baseline_modes_see_the_step(mode: str) -> None:
    fleet = Fleet(600, 3)
    at = fleet.at(2 * DAY + 13 * 3600)
    fleet.cpu[at:, fleet.col("db-01")] += 40.0
    config = DetectorConfig(baseline=BaselineConfig(mode=mode))  # type: ignore[arg-type]
    detection = detect(fleet.panel(), config)
    col = fleet.col("db-01")
    assert detection.alarm[at:at + 6, col].any()
    assert not detection.alarm[fleet.at(DAY):at, col].any()


def test_the_30_second_step_sees_the_same_step() -> None:
    fleet = Fleet(30, 2.5)
    at = fleet.at(2 * DAY + 2 * 3600)
    col = fleet.col("web-03")
    fleet.cpu[at:, col] += 30.0
    fleet.connections[at:, col] *= 1.6
    detection = detect(fleet.panel())
    episodes = [e for e in find_episodes(detection) if e.onset >= START + DAY + 6 * 3600]
    assert [e.server_id for e in episodes] == ["web-03"]
    assert abs(episodes[0].onset - int(fleet.timestamps[at])) <= 60


def test_a_leak_is_found_near_its_start_and_named() -> None:
    fleet = Fleet(600, 3)
    at, length = fleet.at(2 * DAY + 3 * 3600), fleet.at(4 * 3600)
    col = fleet.col("api-01")
    n = len(fleet.timestamps)
    fleet.memory[:, col] += 40.0 * ramp(n, at, length) * hold(n, 0, at + length)
    fleet.cpu[:, col] += 20.0 * ramp(n, at + length // 4, length) * hold(n, 0, at + length)
    found = [i for i in analyze_panel(fleet.panel(), ROLES).incidents if i.start >= START + DAY]
    assert len(found) == 1
    leak = found[0]
    assert leak.origin == "api-01"
    assert leak.pattern == "memory_leak"
    assert 0 <= leak.start - int(fleet.timestamps[at]) <= 6 * 600


def test_a_cascade_with_known_onsets_is_one_incident_led_by_its_origin() -> None:
    fleet = Fleet(600, 3)
    n = len(fleet.timestamps)
    at = fleet.at(2 * DAY + 10 * 3600)
    for sid, lag, severity in (("web-01", 0, 1.0), ("web-03", 2, 0.9), ("web-04", 3, 0.9)):
        col = fleet.col(sid)
        level = severity * ramp(n, at + lag - 1, 2) * hold(n, 0, at + 18)
        fleet.cpu[:, col] += (96.0 - fleet.cpu[:, col]) * level
        fleet.memory[:, col] += 14.0 * level
        fleet.response_time[:, col] *= 1.0 + 5.0 * level
        fleet.connections[:, col] *= 1.0 + 1.2 * level
        fleet.network_rx[:, col] *= 1.0 - 0.4 * level
    found = [i for i in analyze_panel(fleet.panel(), ROLES).incidents if i.start >= START + DAY]
    assert len(found) == 1
    cascade = found[0]
    assert cascade.origin == "web-01"
    assert [s for s, _ in cascade.affected] == ["web-01", "web-03", "web-04"]
    onsets = [t for _, t in cascade.affected]
    assert onsets == sorted(onsets) and onsets[0] == int(fleet.timestamps[at])
    assert cascade.pattern == "cascade_failure"
    assert len(cascade.candidates) == len(ROLES)


def test_a_db_lock_ranks_the_db_first() -> None:
    fleet = Fleet(600, 3)
    n = len(fleet.timestamps)
    at = fleet.at(2 * DAY + 15 * 3600)
    lock = hold(n, at, 5)
    db = fleet.col("db-02")
    fleet.cpu[:, db] = np.maximum(fleet.cpu[:, db], 80.0 * lock)
    fleet.response_time[:, db] *= 1.0 + 9.0 * lock
    fleet.connections[:, db] *= 1.0 + 2.0 * lock
    for sid in ("api-01", "api-02", "api-03", "web-01", "web-02"):
        col = fleet.col(sid)
        fleet.response_time[:, col] *= 1.0 + 2.0 * lock
        fleet.connections[:, col] *= 1.0 + 0.6 * lock
    found = [i for i in analyze_panel(fleet.panel(), ROLES).incidents if i.start >= START + DAY]
    assert len(found) == 1
    assert found[0].origin == "db-02"
    assert found[0].pattern == "db_lock"


def test_a_server_going_offline_is_not_an_anomaly() -> None:
    fleet = Fleet(600, 3)
    lo, hi = fleet.at(2 * DAY + 8 * 3600), fleet.at(2 * DAY + 14 * 3600)
    panel = Panel.from_rows(fleet.rows(offline={"cache-01": (lo, hi)}))
    analysis = analyze_panel(panel, ROLES)
    assert [i for i in analysis.incidents if i.start >= START + DAY] == []


def test_missing_response_time_still_detects_cpu() -> None:
    fleet = Fleet(600, 3)
    at = fleet.at(2 * DAY + 13 * 3600)
    fleet.cpu[at:at + 6, fleet.col("db-01")] += 45.0
    rows = [r._replace(response_time=None) for r in fleet.rows()]
    found = [i for i in analyze_panel(Panel.from_rows(rows), ROLES).incidents
             if i.start >= START + DAY]
    assert [i.origin for i in found] == ["db-01"]


def test_the_cusum_continues_exactly_across_any_split() -> None:
    rng = np.random.default_rng(1)
    gain = rng.normal(-0.5, 2.0, size=(2, 300, 3))
    whole, _ = run_cusum(gain, DetectorState.fresh(3, 12, 2))
    state = DetectorState.fresh(3, 12, 2)
    parts = [run_cusum(gain[:, a:b], state)[0] for a, b in ((0, 1), (1, 97), (97, 300))]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_sliding_min_matches_a_plain_minimum() -> None:
    values = np.random.default_rng(2).normal(size=(1, 50, 2))
    expected = np.stack([values[:, i:i + 7].min(axis=1) for i in range(44)], axis=1)
    np.testing.assert_array_equal(sliding_min(values, 7), expected)


def test_channels_are_oriented_so_that_up_is_worse() -> None:
    fleet = Fleet(600, 1)
    panel = fleet.panel()
    values = channels(panel)
    assert values.shape == (len(CHANNELS), *panel.shape)
    net = CHANNELS.index("net")
    np.testing.assert_allclose(values[net], -np.log1p(panel.values["network_rx"]))


def test_hour_of_week_profiles_take_over_once_weeks_exist() -> None:
    fleet = Fleet(600, 29)
    weekday = ((fleet.timestamps // DAY) + 3) % 7  # 0 = Monday
    weekend = weekday >= 5
    fleet.cpu[weekend] += 15.0  # weekends run hot: only a weekly profile knows
    panel = fleet.panel()
    values = channels(panel)
    daily = compute_baseline(values, panel.timestamps, 600, BaselineConfig(seasonality="day"))
    weekly = compute_baseline(values, panel.timestamps, 600, BaselineConfig(seasonality="auto"))
    cpu = CHANNELS.index("cpu")
    last_saturday = (weekday == 5) & (panel.timestamps >= START + 22 * DAY)
    first_hours = last_saturday & ((panel.timestamps % DAY) < 2 * 3600)
    assert np.nanmean(np.abs(weekly.z[cpu][first_hours])) < 2.0
    assert np.nanmean(np.abs(daily.z[cpu][first_hours])) > 3.0

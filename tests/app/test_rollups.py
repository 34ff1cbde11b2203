"""Hourly rollups equal the statistics computed directly from the raw rows."""

from __future__ import annotations

import numpy as np
import pytest

from lib.app.rollups import daily_rollups, hourly_rollups
from lib.collectors import DummyCollector
from lib.core import DAY, ROLLUP_METRICS, STATUSES, MetricRow
from lib.sim import Simulator, get_fleet

DAY0 = 1_718_236_800  # 2024-06-13


def independent(rows: list[MetricRow], server_id: str, hour: int) -> dict[str, object]:
    """Min, mean, max and p95 of each metric over one server-hour, straight from the rows."""
    chosen = [r for r in rows if r.server_id == server_id and hour <= r.timestamp < hour + 3600]
    out: dict[str, object] = {"samples": len(chosen),
                              "status": max((r.status for r in chosen), key=STATUSES.index)}
    for metric in ROLLUP_METRICS:
        values = np.array([getattr(r, metric) for r in chosen if getattr(r, metric) is not None],
                          dtype=float)
        out[metric] = {"min": round(values.min(), 2), "avg": round(values.mean(), 2),
                       "max": round(values.max(), 2),
                       "p95": round(float(np.percentile(values, 95)), 2)}
    return out


@pytest.mark.parametrize(("fleet", "step"), [("default", 600), ("hybrid", 600), ("default", 30)])
def test_every_hour_of_every_server_equals_the_rows_statistics(fleet: str, step: int) -> None:
    rows = DummyCollector(Simulator(11, get_fleet(fleet))).window(DAY0, DAY0 + DAY, step)
    rollups = hourly_rollups(rows)
    assert len(rollups) == 24 * len(get_fleet(fleet))
    assert [(r.server_id, r.start) for r in rollups] == sorted((r.server_id, r.start)
                                                               for r in rollups)
    for rollup in rollups[:: 7 if step == 30 else 1]:
        expected = independent(rows, rollup.server_id, rollup.start)
        got = rollup.as_dict()
        assert got["samples"] == expected["samples"] == 3600 // step
        assert got["status"] == expected["status"]
        for metric in ROLLUP_METRICS:
            want, have = expected[metric], dict(got[metric])  # type: ignore[call-overload]
            # a mean rounded to 2 decimals may differ by one unit in the last place where the
            # float sums (in another order) fall either side of a half
            assert have.pop("avg") == pytest.approx(want.pop("avg"), abs=0.0101)  # type: ignore[union-attr]
            assert have == want, (rollup.server_id, rollup.start, metric)


def test_a_missing_response_time_is_no_sample_and_all_missing_is_none() -> None:
    base = MetricRow(DAY0, "web-01", 10.0, 20.0, 30.0, None, 1.0, 2.0, 3, "healthy")
    rows = [base._replace(timestamp=DAY0 + 600 * k, cpu=10.0 + k,
                          response_time=100 + k if k % 2 else None) for k in range(6)]
    [rollup] = hourly_rollups(rows)
    assert rollup.stats("response_time") == {"min": 101.0, "avg": 103.0, "max": 105.0,
                                             "p95": 104.8}
    [none] = hourly_rollups([base])
    assert none.stats("response_time") == dict.fromkeys(("min", "avg", "max", "p95"))


def test_days_roll_up_their_hours() -> None:
    rows = DummyCollector(Simulator(11, get_fleet())).window(DAY0, DAY0 + 2 * DAY, 600)
    hours = hourly_rollups(rows)
    days = daily_rollups(hours)
    assert [(d.server_id, d.start) for d in days[:2]] == [("api-01", DAY0),
                                                          ("api-01", DAY0 + DAY)]
    day = days[0]
    own = [r for r in rows if r.server_id == "api-01" and r.timestamp < DAY0 + DAY]
    cpu = np.array([r.cpu for r in own])
    stats = day.stats("cpu")
    assert day.samples == 144 and stats["min"] == round(cpu.min(), 2)
    assert stats["max"] == round(cpu.max(), 2) and stats["avg"] == pytest.approx(cpu.mean(),
                                                                                abs=0.01)
    hourly_p95 = [h.stats("cpu")["p95"] for h in hours
                  if h.server_id == "api-01" and h.start < DAY0 + DAY]
    assert stats["p95"] == max(hourly_p95)  # the documented upper bound
    assert day.status == max((r.status for r in own), key=STATUSES.index)

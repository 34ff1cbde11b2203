"""The alerting scorecard on one fixed window (10 days of the default fleet, seed 5, at the
10-minute step), its goals asserted with a small margin. Goals the engine does not meet yet
are strict xfails: the day one is met, the test says so and the mark must go.
``bench/bench_alerts.py`` scores 30-day windows of both fleets on seeds it was not tuned on.
"""

from __future__ import annotations

import pytest

from lib.alerts.scorecard import AlertScore
from lib.app.alert_replay import evaluate_alerts
from lib.core import parse_instant

START = parse_instant("2025-03-01T00:00:00Z", "start")


@pytest.fixture(scope="module")
def score() -> AlertScore:
    return evaluate_alerts(START, START + 10 * 86_400, seed=5, fleet="default").score


def test_the_window_has_incidents_of_every_kind_scored(score: AlertScore) -> None:
    assert score.incidents >= 40
    assert score.origin_counts["cascade_failure"] >= 5 and score.origin_counts["db_lock"] >= 5


def test_nearly_every_incident_is_notified(score: AlertScore) -> None:
    assert score.notified_share >= 0.95


@pytest.mark.xfail(strict=True, reason="goal not met: about 1 incident in 50 gets no "
                                       "notification (docs/alerts.md, Scoring)")
def test_every_incident_is_notified(score: AlertScore) -> None:
    assert score.notified == score.incidents


@pytest.mark.xfail(strict=True, reason="goal not met: 1.5–1.6 notifications per incident "
                                       "(docs/alerts.md, Scoring)")
def test_at_most_one_and_a_half_notifications_per_incident(score: AlertScore) -> None:
    assert score.per_incident <= 1.5


def test_notifications_per_incident_stay_under_two(score: AlertScore) -> None:
    assert score.per_incident <= 1.8


def test_ten_times_fewer_notifications_than_raw_threshold_alerts(score: AlertScore) -> None:
    assert score.reduction >= 11


def test_resolved_within_a_tick_of_the_true_end(score: AlertScore) -> None:
    assert score.resolved_delay_median <= 0.8
    assert score.resolved_within_one_tick >= 0.8


def test_few_flaps(score: AlertScore) -> None:
    assert score.flaps_per_incident <= 0.09


def test_quiet_server_days_stay_quiet(score: AlertScore) -> None:
    assert score.quiet_rate <= 0.04


@pytest.mark.xfail(strict=True, reason="goal not met: the first notification of a db_lock "
                                       "names the database in about 8 of 10 (docs/alerts.md)")
def test_the_first_notification_names_the_true_origin(score: AlertScore) -> None:
    assert score.origin_named["cascade_failure"] >= 0.9
    assert score.origin_named["db_lock"] >= 0.9


def test_the_origin_is_named_most_of_the_time(score: AlertScore) -> None:
    assert score.origin_named["cascade_failure"] >= 0.75
    assert score.origin_named["db_lock"] >= 0.7

"""The scorecard on a fixed 14-day window of a non-default seed, both fleets, both steps.

Thresholds are the issue's goals less a margin where the 14-day sample is small. Where a goal
is not reached (see docs/analysis.md, "Where it falls short"), the threshold guards the level
reached instead, so a regression still fails; those lines say so.
"""

from __future__ import annotations

import pytest

from lib.app.evaluation import MethodCard, Scorecard, evaluate

START = 1_717_372_800  # 2024-06-03T00:00:00Z
DAYS = 14
SEED = 31
FAST = ("cpu_spike", "network_latency", "db_lock", "cascade_failure")
SLOW = ("memory_leak", "disk_full", "gradual_degradation")


@pytest.fixture(scope="module", params=[("default", 600), ("hybrid", 600), ("default", 30),
                                        ("hybrid", 30)], ids=lambda p: f"{p[0]}-{p[1]}s")
def card(request: pytest.FixtureRequest) -> Scorecard:
    fleet, step = request.param
    return evaluate(START, START + DAYS * 86_400, SEED, fleet, step)


def _methods(card: Scorecard) -> tuple[MethodCard, MethodCard, MethodCard]:
    ours, nsigma, robust = card.methods
    assert (ours.name, nsigma.name, robust.name) == ("ours", "NSigma", "RobustScorer")
    return ours, nsigma, robust


def test_events_are_found_with_few_false_ones(card: Scorecard) -> None:
    ours, nsigma, robust = _methods(card)
    assert ours.events.truths >= 60
    assert ours.events.f1 >= 0.87            # goal 0.90
    assert ours.events.false_per_server_day <= 0.05
    assert ours.events.f1 >= max(nsigma.events.f1, robust.events.f1) + 0.5


def test_root_causes_rank_the_origin_first(card: Scorecard) -> None:
    ours, _, robust = _methods(card)
    assert ours.events.ac[0] >= 0.88         # goal 0.90
    # goal 0.98: reached pooled on the unseen seeds in two cells of four (0.962-0.991);
    # here 0.961-0.987 on ~80 detections, so the level is guarded
    assert ours.events.ac[2] >= 0.95
    by_pattern = ours.events.ac1_by_pattern
    assert by_pattern["cascade_failure"] >= 0.6  # goal 0.85 on 5-10 cases: level guarded
    assert by_pattern["db_lock"] >= 0.85
    cascades = ours.given_by_pattern["cascade_failure"]
    assert cascades - robust.given_by_pattern["cascade_failure"] >= 0.30


def test_a_misplaced_onset_barely_matters(card: Scorecard) -> None:
    ours, nsigma, robust = _methods(card)
    # goal 0.85; reached on isolated incidents at 30 s only (docs: distractors at ±30 min)
    assert ours.shifted["isolated"] >= 0.72
    assert ours.shifted["all"] >= max(nsigma.shifted["all"], robust.shifted["all"]) + 0.3


def test_patterns_are_named(card: Scorecard) -> None:
    ours, _, _ = _methods(card)
    # goal 0.90: reached pooled on the unseen seeds in three cells of four (0.874-0.909);
    # 0.84-0.89 on this 14-day window: level guarded
    assert ours.events.pattern_f1 >= 0.80


def test_onsets_are_found_quickly(card: Scorecard) -> None:
    ours, _, _ = _methods(card)
    delay = ours.events.delay_by_pattern
    per_stored_tick = 600 / card.step        # goals in 10-minute ticks, see docs/analysis.md
    for pattern in FAST:
        if pattern in delay:
            assert delay[pattern] <= 2 * per_stored_tick, pattern
    for pattern in SLOW:
        if pattern in delay:
            assert delay[pattern] <= 6 * per_stored_tick, pattern

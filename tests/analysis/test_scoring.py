"""The scoring definitions of docs/analysis.md on hand-made detections."""

from __future__ import annotations

import pytest

from lib.analysis import Detected, score
from lib.analysis.scoring import match, pattern_scores
from lib.core import AffectedServer, Incident

H = 3600


def truth(origin: str, start: int, hours: float, pattern: str = "cpu_spike",
          followers: tuple[str, ...] = ()) -> Incident:
    affected = (AffectedServer(origin, start),
                *(AffectedServer(f, start + 600) for f in followers))
    return Incident(f"t{start}", pattern, origin, start, start + int(hours * H), 0.8, affected)


def det(start: int, end: int, servers: tuple[str, ...], pattern: str = "cpu_spike") -> Detected:
    return Detected(start, end, frozenset(servers), servers, pattern)


def test_overlap_needs_time_and_a_shared_server() -> None:
    t = truth("a", 10 * H, 1)
    assert match([det(10 * H + 600, 12 * H, ("a",))], [t], 600) == {0: 0}
    assert match([det(10 * H, 12 * H, ("b",))], [t], 600) == {}
    assert match([det(11 * H + 600, 12 * H, ("a",))], [t], 600) == {}  # past end + 1 tick
    assert match([det(11 * H, 12 * H, ("a",))], [t], 600) == {0: 0}   # within the tick


def test_matching_is_one_to_one_and_maximal() -> None:
    t1, t2 = truth("a", 10 * H, 2), truth("b", 10 * H + 600, 2, followers=("a",))
    wide = det(10 * H, 13 * H, ("a", "b"))
    only_b = det(10 * H + 600, 11 * H, ("b",))
    assert match([wide, only_b], [t1, t2], 600) == {0: 0, 1: 1}


def test_scorecard_counts_precision_recall_ac_and_delay() -> None:
    truths = [truth("a", 10 * H, 1), truth("b", 20 * H, 1, "db_lock", ("c",)),
              truth("d", 30 * H, 1)]
    found = [det(10 * H + 1200, 11 * H, ("a",)),
             det(20 * H, 21 * H, ("c", "b"), "db_lock"),   # origin ranked second
             det(40 * H, 41 * H, ("e",))]                  # false
    card = score(found, truths, (0, 2 * 86_400), 600, servers=5)
    assert (card.truths, card.detections, card.matched) == (3, 3, 2)
    assert card.precision == pytest.approx(2 / 3)
    assert card.recall == pytest.approx(2 / 3)
    assert card.false_per_server_day == pytest.approx(1 / 10)
    assert card.ac[0] == pytest.approx(0.5)
    assert card.ac[1] == pytest.approx(1.0)
    assert card.delay_by_pattern == {"cpu_spike": 2.0, "db_lock": 0.0}


def test_truths_before_the_window_count_for_no_one() -> None:
    early = truth("a", -H, 3)
    card = score([det(0, H, ("a",))], [early], (0, 86_400), 600, servers=1)
    assert (card.truths, card.detections, card.matched) == (0, 0, 0)


def test_pattern_macro_f1_and_confusion() -> None:
    pairs = [("cpu_spike", "cpu_spike"), ("cpu_spike", "memory_leak"),
             ("memory_leak", "memory_leak")]
    macro, per, confusion = pattern_scores(pairs)
    assert per == {"cpu_spike": pytest.approx(2 / 3), "memory_leak": pytest.approx(2 / 3)}
    assert macro == pytest.approx(2 / 3)
    assert confusion["cpu_spike"] == {"cpu_spike": 1, "memory_leak": 1}

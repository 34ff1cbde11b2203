"""Failure patterns: signatures in the numbers, schedules, durations and cascades."""

from __future__ import annotations

import numpy as np
import pytest

from lib.core import Incident, parse_instant
from lib.sim import MetricFrame, Simulator, get_fleet
from lib.sim.scenarios import (
    CASCADE_DB_TO_FRONT_P,
    CASCADE_SAME_ROLE_P,
    PATTERNS,
    day_schedule,
    make_incident,
)

FLEET = get_fleet("default")
SIM = Simulator(20240101, FLEET)
DAY0 = parse_instant("2024-01-01T00:00:00Z", "t")
DAY0_INDEX = DAY0 // 86_400
STEP = 60


def forced(pattern: str, origin: str, start: int, hours: float, intensity: float = 0.9,
           ) -> tuple[Incident, MetricFrame, MetricFrame]:
    """The incident, the frame with it, and the same window without any incident."""
    incident = make_incident(FLEET, pattern, origin, start, int(hours * 3600), intensity,
                             spread_key=5)
    lo, hi = start - 3600, incident.end + 3600
    return (incident, SIM.frame(lo, hi, STEP, incidents=[incident]),
            SIM.frame(lo, hi, STEP, incidents=[]))


def col(frame: MetricFrame, sid: str) -> int:
    return frame.server_ids.index(sid)


def during(frame: MetricFrame, lo: int, hi: int) -> np.ndarray:
    return (frame.timestamps >= lo) & (frame.timestamps < hi)


def ratio(hit: MetricFrame, base: MetricFrame, name: str, sid: str) -> np.ndarray:
    j = col(hit, sid)
    return getattr(hit, name)[:, j] / getattr(base, name)[:, j]


def test_network_latency_moves_only_response_time() -> None:
    for intensity, peak in ((1.0, 10.0), (0.6, 2.0)):
        inc, hit, base = forced("network_latency", "web-02", DAY0 + 3 * 3600, 2, intensity)
        j = col(hit, "web-02")
        r = ratio(hit, base, "response_time", "web-02")
        assert 2.0 * 0.97 <= r.max() <= 10.0 * 1.03
        assert r.max() == pytest.approx(peak, rel=0.05)
        for name in ("cpu", "memory", "disk", "network_rx", "connections"):
            assert np.array_equal(getattr(hit, name)[:, j], getattr(base, name)[:, j]), name
        # Sine-shaped: strongest in the middle, close to normal near the ends.
        mid = during(hit, inc.start + 3000, inc.end - 3000)
        edge = during(hit, inc.start, inc.start + 300)
        assert r[mid].mean() > r[edge].mean() + 0.5 * (peak - 1)


def test_disk_full_collapses_performance_past_70_percent() -> None:
    inc, hit, base = forced("disk_full", "db-02", DAY0 + 2 * 3600, 5, 0.9)
    j = col(hit, "db-02")
    disk = hit.disk[:, j]
    inside = during(hit, inc.start, inc.end)
    assert np.all(np.diff(disk[inside]) > -0.5)  # climbs (allowing the baseline's wobble)
    assert disk[inside][-1] >= 90
    r = ratio(hit, base, "response_time", "db-02")
    below = inside & (disk < 66)
    above = inside & (disk > 75)
    assert below.any() and above.any()
    assert r[below].max() < 1.3
    assert r[above].mean() == pytest.approx(4.0, rel=0.12)
    cpu_gain = hit.cpu[:, j] - base.cpu[:, j]
    assert cpu_gain[above].mean() > 20 and cpu_gain[below].max() < 3


def test_db_lock_holds_db_cpu_and_slows_everyone_in_order() -> None:
    inc, hit, base = forced("db_lock", "db-01", DAY0 + 4 * 3600, 1.5, 0.5)
    plateau = during(hit, inc.start + 600, inc.end - 600)
    db = col(hit, "db-01")
    assert np.abs(hit.cpu[plateau, db] - 80).max() <= 5
    assert ratio(hit, base, "response_time", "db-01")[plateau].mean() == pytest.approx(10, rel=0.1)
    onsets = {a.server_id: a.onset for a in inc.affected}
    others = [s for s in onsets if s != "db-01"]
    assert {FLEET.get(s).role for s in others} == {"api", "web"}
    for sid in others:
        held = during(hit, onsets[sid] + 600, inc.end - 600)
        assert ratio(hit, base, "response_time", sid)[held].mean() == pytest.approx(3, rel=0.1)
    api = max(onsets[s] for s in others if s.startswith("api"))
    web = min(onsets[s] for s in others if s.startswith("web"))
    assert onsets["db-01"] < min(onsets[s] for s in others) and api <= web + 600


def test_gradual_degradation_raises_every_metric_over_hours() -> None:
    inc, hit, base = forced("gradual_degradation", "web-04", DAY0 + 14 * 3600, 8, 0.9)
    j = col(hit, "web-04")
    inside = during(hit, inc.start, inc.end)
    hours = (hit.timestamps[inside] - inc.start) / 3600
    for name in ("cpu", "memory", "disk", "response_time"):
        values = getattr(hit, name)[inside, j].astype(float)
        slope = np.polyfit(hours, values, 1)[0]
        assert slope > 0, name
        assert values[-60:].mean() > values[:60].mean(), name
        # The incident's own contribution only ever grows (ratio for the multiplicative one).
        normal = getattr(base, name)[inside, j]
        gain = values / normal if name == "response_time" else values - normal
        tolerance = 0.02 if name == "response_time" else 0.011
        assert np.all(np.diff(gain) >= -tolerance), name


def test_memory_leak_raises_memory_then_cpu_then_latency() -> None:
    inc, hit, base = forced("memory_leak", "api-03", DAY0 + 15 * 3600, 5, 1.0)
    j = col(hit, "api-03")
    t = hit.timestamps
    mem_gain = hit.memory[:, j] - base.memory[:, j]
    cpu_gain = hit.cpu[:, j] - base.cpu[:, j]
    rt = ratio(hit, base, "response_time", "api-03")
    first = {name: t[np.argmax(series > level)] for name, series, level in
             (("memory", mem_gain, 2.0), ("cpu", cpu_gain, 2.0), ("rt", rt, 1.2))}
    assert inc.start <= first["memory"] < first["cpu"] < first["rt"] < inc.end
    inside = during(hit, inc.start, inc.end)
    assert mem_gain[inside].max() > 10 and hit.memory[inside, j][-1] > 85


def test_cpu_spike_is_a_bell_with_triple_latency() -> None:
    inc, hit, base = forced("cpu_spike", "cache-01", DAY0 + 3600, 0.75, 0.9)
    j = col(hit, "cache-01")
    inside = during(hit, inc.start, inc.end)
    cpu = hit.cpu[inside, j]
    peak_at = hit.timestamps[inside][np.argmax(cpu)]
    assert abs(peak_at - (inc.start + inc.end) / 2) <= 0.15 * (inc.end - inc.start)
    assert cpu.max() >= 90 and cpu[0] < 40 and cpu[-1] < 40
    assert ratio(hit, base, "response_time", "cache-01")[inside].max() == pytest.approx(3, rel=0.1)


def test_cascade_followers_fail_after_their_cause() -> None:
    inc, hit, base = forced("cascade_failure", "db-03", DAY0 + 3600, 3, 0.9)
    assert len(inc.affected) > 1
    origin_onset = inc.affected[0].onset
    for a in inc.affected:
        j = col(hit, a.server_id)
        gain = hit.cpu[:, j] - base.cpu[:, j]
        started = hit.timestamps[np.argmax(np.abs(gain) > 0.01)]
        assert started >= a.onset
        assert a.server_id == "db-03" or a.onset > origin_onset
        assert hit.status[during(hit, a.onset + 1800, inc.end - 1800), j].min() >= 1


def scheduled(days: int = 400) -> list[Incident]:
    return [i for d in range(DAY0_INDEX, DAY0_INDEX + days) for i in day_schedule(7, FLEET, d)]


def test_every_day_has_two_to_ten_incidents() -> None:
    counts = [len(day_schedule(7, FLEET, d)) for d in range(DAY0_INDEX, DAY0_INDEX + 400)]
    assert min(counts) >= 2 and max(counts) <= 10
    assert len(set(counts)) >= 6  # it really varies


def test_durations_and_origins_follow_the_spec() -> None:
    seen = set()
    for inc in scheduled():
        spec = PATTERNS[inc.pattern]
        seen.add(inc.pattern)
        assert spec.min_duration <= inc.end - inc.start <= spec.max_duration, inc
        assert FLEET.get(inc.origin).role in spec.origins
        assert inc.affected[0].server_id == inc.origin and inc.affected[0].onset == inc.start
        assert all(a.onset > inc.start and a.onset < inc.end for a in inc.affected[1:])
        assert 0.6 <= inc.intensity <= 1.0
    assert seen == set(PATTERNS)


def test_cascade_spread_probabilities() -> None:
    same = [0, 0]
    front = [0, 0]
    for inc in scheduled(1200):
        if inc.pattern != "cascade_failure":
            continue
        role = FLEET.get(inc.origin).role
        hit = {a.server_id for a in inc.affected[1:]}
        for server in FLEET.servers:
            if server.id == inc.origin:
                continue
            if server.role == role:
                same[0] += server.id in hit
                same[1] += 1
            elif role == "db" and server.role in ("web", "api"):
                front[0] += server.id in hit
                front[1] += 1
    assert same[1] > 500 and front[1] > 300
    assert abs(same[0] / same[1] - CASCADE_SAME_ROLE_P) <= 0.1
    assert abs(front[0] / front[1] - CASCADE_DB_TO_FRONT_P) <= 0.1


def test_yesterdays_running_incidents_are_included() -> None:
    late = [i for d in range(DAY0_INDEX, DAY0_INDEX + 60)
            for i in day_schedule(SIM.seed, FLEET, d) if i.end > (d + 1) * 86_400]
    assert late, "no incident ran past midnight in 60 days"
    inc = late[0]
    next_day = (inc.start // 86_400 + 1) * 86_400
    assert inc in SIM.incidents(next_day, next_day + 86_400)
    # and its effect shows in the next day's numbers
    frame = SIM.frame(next_day, min(inc.end, next_day + 86_400), STEP, [inc.origin])
    quiet = SIM.frame(next_day, min(inc.end, next_day + 86_400), STEP, [inc.origin], incidents=[])
    assert not np.array_equal(frame.response_time, quiet.response_time)


def test_distribution_over_sixty_days_matches_the_seeds() -> None:
    shares = []
    for d in range(DAY0_INDEX, DAY0_INDEX + 60):
        frame = SIM.frame(d * 86_400, (d + 1) * 86_400)
        shares.append(np.bincount(frame.status.ravel(), minlength=3) / frame.status.size)
        assert 2 <= len(day_schedule(SIM.seed, FLEET, d)) <= 10
    sh = np.array(shares)
    healthy, warning, critical = sh.mean(axis=0)
    assert 0.70 <= healthy <= 0.85 and 0.10 <= warning <= 0.20 and 0.05 <= critical <= 0.15
    inside = ((sh[:, 0] >= 0.70) & (sh[:, 0] <= 0.85) & (sh[:, 1] >= 0.10) & (sh[:, 1] <= 0.20)
              & (sh[:, 2] >= 0.05) & (sh[:, 2] <= 0.15))
    assert inside.mean() >= 0.80, f"only {inside.mean():.0%} of days inside all three ranges"

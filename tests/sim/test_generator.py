"""Determinism and value ranges of the generator."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lib.core import InvalidParameter, parse_instant
from lib.sim import MetricFrame, Simulator, get_fleet, tick_grid

ROOT = Path(__file__).resolve().parents[2]
DAY0 = parse_instant("2024-01-01T00:00:00Z", "t")
ARRAYS = ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx", "connections",
          "status")


def sim(seed: int = 7, fleet: str = "default") -> Simulator:
    return Simulator(seed, get_fleet(fleet))


def digest(frame: MetricFrame) -> str:
    h = hashlib.sha256(frame.timestamps.tobytes())
    h.update(",".join(frame.server_ids).encode())
    for name in ARRAYS:
        h.update(np.ascontiguousarray(getattr(frame, name)).tobytes())
    return h.hexdigest()


def concat(a: MetricFrame, b: MetricFrame) -> dict[str, np.ndarray]:
    out = {name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in ARRAYS}
    out["timestamps"] = np.concatenate([a.timestamps, b.timestamps])
    return out


def assert_same(frame: MetricFrame, arrays: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(frame.timestamps, arrays["timestamps"])
    for name in ARRAYS:
        # Bitwise: compare the raw bytes, not values within a tolerance.
        assert getattr(frame, name).tobytes() == np.ascontiguousarray(arrays[name]).tobytes(), name


def test_split_windows_equal_the_whole_bitwise() -> None:
    s = sim()
    a, c = DAY0, DAY0 + 2 * 86_400
    incident = next(i for i in s.incidents(a, c) if i.end - i.start >= 3600 and i.start > a)
    mid_incident = (incident.start + incident.end) // 2
    whole = s.frame(a, c, step=60)
    for b in (a + 86_400, a + 12_345, mid_incident, mid_incident + 30):
        assert_same(whole, concat(s.frame(a, b, step=60), s.frame(b, c, step=60)))


def test_one_server_equals_its_column_in_the_fleet() -> None:
    s = sim(fleet="hybrid")
    whole = s.frame(DAY0, DAY0 + 86_400)
    for sid in ("db-eu-002", "web-k8s-001", "cache-us-001"):
        alone = s.frame(DAY0, DAY0 + 86_400, server_ids=[sid])
        j = whole.server_ids.index(sid)
        for name in ARRAYS:
            expected = getattr(whole, name)[:, j].copy().tobytes()
            assert getattr(alone, name)[:, 0].tobytes() == expected


def test_a_second_process_computes_identical_output() -> None:
    here = digest(sim(11).frame(DAY0, DAY0 + 86_400))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.sim.test_generator import digest, sim, DAY0;"
        "print(digest(sim(11).frame(DAY0, DAY0 + 86_400)))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True,
                         text=True, check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.strip() == here


def test_different_seeds_and_days_differ() -> None:
    day1 = sim(1).frame(DAY0, DAY0 + 86_400)
    assert digest(day1) != digest(sim(2).frame(DAY0, DAY0 + 86_400))
    nxt = sim(1).frame(DAY0 + 86_400, DAY0 + 2 * 86_400)
    assert not np.array_equal(day1.cpu, nxt.cpu)
    assert [i.id for i in sim(1).incidents(DAY0, DAY0 + 86_400)] != [
        i.id for i in sim(2).incidents(DAY0, DAY0 + 86_400)
    ] or sim(1).incidents(DAY0, DAY0 + 86_400) != sim(2).incidents(DAY0, DAY0 + 86_400)


def test_default_step_gives_144_rows_per_server_per_day() -> None:
    frame = sim().frame(DAY0, DAY0 + 86_400)
    assert frame.cpu.shape == (144, 20)
    assert len(list(frame.rows())) == 2_880
    assert frame.timestamps[0] == DAY0 and frame.timestamps[-1] == DAY0 + 86_400 - 600


def test_values_stay_in_range_over_a_week() -> None:
    frame = sim(3).frame(DAY0, DAY0 + 7 * 86_400, step=300)
    for name in ("cpu", "memory", "disk"):
        values = getattr(frame, name)
        assert values.min() >= 0 and values.max() <= 100, name
        assert np.array_equal(values, np.round(values, 2)), name
    assert frame.response_time.dtype == np.int64 and frame.response_time.min() >= 1
    assert frame.connections.min() >= 0
    assert frame.network_rx.min() > 0 and frame.network_tx.min() > 0
    assert set(np.unique(frame.status)) <= {0, 1, 2}


def test_rows_are_ordered_by_timestamp_then_server() -> None:
    rows = list(sim().frame(DAY0, DAY0 + 3_600).rows())
    keys = [(r.timestamp, r.server_id) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_business_hours_carry_more_load() -> None:
    # Asia/Seoul is UTC+9: 11:00 local is 02:00 UTC, 03:00 local is 18:00 UTC.
    frame = sim().frame(DAY0 + 86_400, DAY0 + 2 * 86_400)  # a Tuesday
    web = [j for j, sid in enumerate(frame.server_ids) if sid.startswith("web")]
    hour = (frame.timestamps % 86_400) // 3600
    office = frame.cpu[(hour >= 1) & (hour < 8)][:, web].mean()
    night = frame.cpu[(hour >= 17) & (hour < 21)][:, web].mean()
    assert office > night * 1.4


def test_memory_creeps_between_restarts() -> None:
    s = sim()
    sid = "db-01"
    uptime = s.uptime([sid], DAY0)[0]
    # db restarts at most every 10.5 days: within 9 days after a restart, daily means rise.
    frame = s.frame(DAY0 - uptime + 3_600, DAY0 - uptime + 9 * 86_400, server_ids=[sid],
                    incidents=[])
    daily = frame.memory[: 8 * 144, 0].reshape(8, 144).mean(axis=1)
    assert daily[-1] > daily[0] + 1.0


@pytest.mark.parametrize("step", [0, 29, -600])
def test_bad_steps_are_rejected(step: int) -> None:
    with pytest.raises(InvalidParameter) as info:
        tick_grid(DAY0, DAY0 + 600, step)
    assert info.value.parameter == "step"


def test_unknown_server_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="unknown server 'web-99'"):
        sim().frame(DAY0, DAY0 + 600, server_ids=["web-99"])


def test_fleet_profiles_have_the_documented_servers() -> None:
    default = get_fleet("default")
    assert default.ids == tuple(sorted(
        [f"web-{i:02d}" for i in range(1, 7)] + [f"api-{i:02d}" for i in range(1, 7)]
        + [f"db-{i:02d}" for i in range(1, 5)] + ["cache-01", "cache-02", "worker-01", "worker-02"]
    ))
    hybrid = get_fleet("hybrid")
    assert len(hybrid) == 30
    platforms = [s.platform for s in hybrid.servers]
    assert {p: platforms.count(p) for p in set(platforms)} == {
        "kubernetes": 10, "aws": 10, "on-premises": 10
    }
    assert {s.role for s in hybrid.servers} == {"web", "api", "db", "cache", "worker"}
    assert get_fleet("default") is default  # static: the same templates on every call

"""lib.sim.exposition: valid Prometheus text, node_exporter semantics, values equal to the
generator, counters that never step back (across ticks, days and processes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lib.collectors import DummyCollector
from lib.core import DAY, parse_instant
from lib.core.promnames import SERVER_LABELS
from lib.sim import Simulator, get_fleet
from lib.sim.exposition import CONTENT_TYPE, counter_epoch, fleet_sample, render_exposition

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240101
# A Wednesday mid-morning (UTC): well inside a counter day, not on a tick boundary.
AT = parse_instant("2024-01-03T10:17:45Z", "at") + 0.25

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def simulator(profile: str = "default") -> Simulator:
    return Simulator(SEED, get_fleet(profile), "Asia/Seoul")


def parse(text: bytes) -> tuple[dict[str, str], Series]:
    """Family name → type, and (sample name, labels) → value, via Prometheus's own parser."""
    types: dict[str, str] = {}
    series: Series = {}
    for family in text_string_to_metric_families(text.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in series, f"duplicate series {key}"
            series[key] = sample.value
    return types, series


def pick(series: Series, name: str, **labels: str) -> list[float]:
    want = set(labels.items())
    return [v for (n, ls), v in series.items() if n == name and want <= ls]


def one(series: Series, name: str, **labels: str) -> float:
    values = pick(series, name, **labels)
    assert len(values) == 1, (name, labels, values)
    return values[0]


def test_content_type_is_the_classic_text_format() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_exposition_parses_with_node_exporter_names_and_types() -> None:
    types, series = parse(render_exposition(simulator(), AT))
    assert types == {
        "node_boot_time_seconds": "gauge",
        "node_cpu_seconds": "counter",
        "node_memory_MemTotal_bytes": "gauge",
        "node_memory_MemAvailable_bytes": "gauge",
        "node_filesystem_size_bytes": "gauge",
        "node_filesystem_avail_bytes": "gauge",
        "node_network_receive_bytes": "counter",
        "node_network_transmit_bytes": "counter",
        "node_netstat_Tcp_CurrEstab": "gauge",
        "node_uname_info": "gauge",
        "app_response_time_seconds": "gauge",
        "app_start_time_seconds": "gauge",
    }
    fleet = get_fleet("default")
    cores = sum(s.cpu_cores for s in fleet.servers)
    assert len(pick(series, "node_cpu_seconds_total")) == cores * 3  # idle, system, user
    assert len(pick(series, "node_network_receive_bytes_total")) == len(fleet) * 2  # eth0, lo


def test_promtool_accepts_exposition() -> None:
    """``promtool check metrics``: no parse error; the only lint notes are node_exporter's own
    camelCase names, which the collector's PromQL requires."""
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is not installed (Debian package prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([promtool, "check", "metrics"], input=render_exposition(simulator(), AT),
                          capture_output=True, timeout=60, check=False)
    notes = set((done.stdout + done.stderr).decode().strip().splitlines())
    assert done.returncode in (0, 3), notes
    assert notes == {
        f"{name} metric names should be written in 'snake_case' not 'camelCase'"
        for name in ("node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
                     "node_netstat_Tcp_CurrEstab")
    }


@pytest.mark.parametrize("profile", ["default", "hybrid"])
def test_every_series_carries_its_server_labels(profile: str) -> None:
    fleet = get_fleet(profile)
    _, series = parse(render_exposition(simulator(profile), AT))
    templates = {s.id: s for s in fleet.servers}
    seen = set()
    for _, labels in series:
        lab = dict(labels)
        t = templates[lab["instance"]]
        assert [lab[k] for k in SERVER_LABELS] == [
            t.id, t.name, t.role, t.location, t.environment, t.platform
        ]
        seen.add(t.id)
    assert seen == set(fleet.ids)


def test_gauges_equal_the_generator_at_the_same_instant() -> None:
    sim = simulator()
    _, series = parse(render_exposition(sim, AT))
    snapshots = DummyCollector(sim).snapshot(None, int(AT))
    assert len(snapshots) == 20
    for snap in snapshots:
        row, t = snap.row, sim.fleet.get(snap.row.server_id)
        i = {"instance": row.server_id}
        mem_total = one(series, "node_memory_MemTotal_bytes", **i)
        mem_avail = one(series, "node_memory_MemAvailable_bytes", **i)
        size = one(series, "node_filesystem_size_bytes", mountpoint="/", **i)
        avail = one(series, "node_filesystem_avail_bytes", mountpoint="/", **i)
        assert mem_total == t.memory_total_mb * 2**20
        assert size == t.disk_total_mb * 2**20
        assert round(100 * (1 - mem_avail / mem_total), 2) == row.memory
        assert round(100 * (1 - avail / size), 2) == row.disk
        assert round(one(series, "app_response_time_seconds", **i) * 1000) == row.response_time
        assert one(series, "node_netstat_Tcp_CurrEstab", **i) == row.connections
        assert snap.uptime is not None
        assert one(series, "app_start_time_seconds", **i) == int(AT) // 30 * 30 - snap.uptime
        assert one(series, "node_boot_time_seconds", **i) == parse_instant("2024-01-03", "x")
        assert len(pick(series, "node_cpu_seconds_total", mode="idle", **i)) == t.cpu_cores
        assert one(series, "node_uname_info", **i, nodename=t.hostname) == 1.0


def test_rate_inside_one_tick_equals_the_generator() -> None:
    """What ``rate()`` sees between two scrapes in one 30-second tick is that tick's value."""
    sim = simulator()
    t1, t2 = AT - 11.0, AT + 12.5  # AT is 15.25 s into its tick
    assert int(t1) // 30 == int(t2) // 30
    _, s1 = parse(render_exposition(sim, t1))
    _, s2 = parse(render_exposition(sim, t2))
    rows = {s.row.server_id: s.row for s in DummyCollector(sim).snapshot(None, int(AT))}

    def rate(name: str, **labels: str) -> float:
        return (one(s2, name, **labels) - one(s1, name, **labels)) / (t2 - t1)

    for sid, row in rows.items():
        cores = sim.fleet.get(sid).cpu_cores
        for cpu in map(str, range(cores)):
            idle = rate("node_cpu_seconds_total", instance=sid, cpu=cpu, mode="idle")
            user = rate("node_cpu_seconds_total", instance=sid, cpu=cpu, mode="user")
            system = rate("node_cpu_seconds_total", instance=sid, cpu=cpu, mode="system")
            assert idle == pytest.approx(1 - row.cpu / 100, abs=1e-9)
            assert user + system == pytest.approx(row.cpu / 100, abs=1e-9)
            assert user == pytest.approx(4 * system, abs=1e-9)
        for name, kbps in (("receive", row.network_rx), ("transmit", row.network_tx)):
            got = rate(f"node_network_{name}_bytes_total", instance=sid, device="eth0")
            assert got == pytest.approx(kbps * 1024, rel=1e-9)
        assert rate("node_network_receive_bytes_total", instance=sid, device="lo") > 0


def counter_matrix(sim: Simulator, instants: Iterable[float]) -> np.ndarray:
    """(instants × counters × servers) running totals."""
    return np.array([list(fleet_sample(sim, t).counters.values()) for t in instants])


def test_counters_never_decrease_every_7_seconds_within_a_day() -> None:
    """Between daily epochs (test_counters_restart_at_the_daily_epoch): the morning, and the
    hour before midnight."""
    sim = simulator()
    midday = np.arange(AT, AT + 3600, 7.0)
    midnight = parse_instant("2024-01-04T00:00:00Z", "t")
    before_midnight = np.arange(midnight - 3600 - 0.5, midnight - 0.001, 7.0)
    for instants in (midday, before_midnight):
        totals = counter_matrix(sim, instants)
        steps = np.diff(totals, axis=0)
        assert (steps >= 0).all()
        assert (steps.sum(axis=0) > 0).all()  # and every counter actually moved


def test_counters_are_continuous_at_tick_and_hour_boundaries() -> None:
    sim = simulator()
    for boundary in (int(AT) // 30 * 30 + 30, parse_instant("2024-01-03T11:00:00Z", "t")):
        before = counter_matrix(sim, [boundary - 1e-3])[0]
        at = counter_matrix(sim, [boundary])[0]
        assert (at >= before).all()
        # A millisecond moves no counter by more than a millisecond of its fastest rate.
        assert np.allclose(at, before, rtol=1e-9, atol=1e-3 * 1024 * 20_000)


def test_counters_restart_at_the_daily_epoch() -> None:
    sim = simulator()
    midnight = parse_instant("2024-01-08T00:00:00Z", "t")
    assert counter_epoch(midnight - 1) == midnight - DAY
    assert counter_epoch(midnight) == midnight
    assert counter_epoch(midnight + DAY - 0.5) == midnight
    before, after = counter_matrix(sim, [midnight - 1, midnight + 10])
    assert (before > after).all()
    assert (after >= 0).all()
    _, series = parse(render_exposition(sim, midnight + 10))
    assert set(pick(series, "node_boot_time_seconds")) == {float(midnight)}


def test_a_fresh_process_renders_the_same_bytes_and_carries_on() -> None:
    """No state: a cold process agrees bitwise with this (warm) one, and counters it computes
    later are never below ours."""
    sim = simulator()
    ours = render_exposition(sim, AT)
    later = AT + 97.0
    code = (
        "import sys\n"
        "from lib.sim import Simulator, get_fleet\n"
        "from lib.sim.exposition import render_exposition\n"
        f"sim = Simulator({SEED}, get_fleet('default'), 'Asia/Seoul')\n"
        f"sys.stdout.buffer.write(render_exposition(sim, {AT!r}))\n"
        "sys.stdout.buffer.write(b'\\0')\n"
        f"sys.stdout.buffer.write(render_exposition(sim, {later!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    theirs, theirs_later = done.stdout.split(b"\0")
    assert theirs == ours
    _, now_series = parse(ours)
    _, later_series = parse(theirs_later)
    for (name, labels), value in now_series.items():
        if name.endswith("_total"):
            assert later_series[(name, labels)] >= value

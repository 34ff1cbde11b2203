"""PrometheusCollector: against a real Prometheus scraping a real node_exporter, at the HTTP
boundary for the failures (httpx.MockTransport, exact PromQL asserted), and the round trip —
a real Prometheus scraping ``GET /api/prometheus`` of ``python -m lib serve`` and the collector
reading the simulated fleet back."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from lib.collectors import DummyCollector, get_collector
from lib.collectors.prometheus import PrometheusCollector
from lib.core import ConfigError, InvalidParameter, Settings, SourceUnavailable, UnknownServer
from lib.sim import RESOURCE_THRESHOLDS, Simulator, get_fleet
from lib.sim.exposition import counter_epoch
from tests.services.prometheus import (
    NodeExporter,
    PrometheusServer,
    free_port,
    require_binaries,
    running_local_api,
    running_prometheus,
    wait_for_samples,
)

RATE_WINDOW = 5  # seconds: five 1-second scrapes


@pytest.fixture
def collector(prometheus_server: PrometheusServer) -> Iterator[PrometheusCollector]:
    c = PrometheusCollector(prometheus_server.url, rate_window=RATE_WINDOW)
    yield c
    c.close()


# --- against a real Prometheus scraping node_exporter ---------------------------------------


def proc_meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes (what node_exporter reads)."""
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, rest = line.split(":", 1)
        parts = rest.split()
        fields[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return fields


def test_lists_the_node_exporter_target(
    collector: PrometheusCollector, node_exporter: NodeExporter
) -> None:
    servers = {s.id: s for s in collector.servers()}
    assert node_exporter.address in servers
    node = servers[node_exporter.address]
    cpus = re.findall(r"^cpu\d+ ", Path("/proc/stat").read_text(), re.MULTILINE)
    root = os.statvfs("/")
    assert node.cpu_cores == len(cpus)
    assert node.memory_total_mb == proc_meminfo()["MemTotal"] // 2**20
    assert node.disk_total_mb == root.f_blocks * root.f_frsize // 2**20
    assert node.hostname == os.uname().nodename  # node_uname_info{nodename}
    # No role/location labels on a plain node_exporter: the documented defaults.
    assert (node.name, node.role, node.location, node.environment, node.platform) == (
        node_exporter.address, "web", "unknown", "unknown", "vm")


def test_snapshot_reads_the_node_in_range_and_close_to_the_kernel(
    collector: PrometheusCollector, node_exporter: NodeExporter
) -> None:
    now = int(time.time())
    [snap] = collector.snapshot([node_exporter.address], now)
    row = snap.row
    assert snap.online is True
    assert (row.timestamp, row.server_id) == (now, node_exporter.address)
    for value in (row.cpu, row.memory, row.disk):
        assert 0.0 <= value <= 100.0
    assert row.network_rx >= 0.0 and row.network_tx >= 0.0
    assert row.connections >= 0
    assert row.response_time is None  # node_exporter has no application metric
    mem = proc_meminfo()
    assert row.memory == pytest.approx(100 * (1 - mem["MemAvailable"] / mem["MemTotal"]), abs=5)
    root = os.statvfs("/")
    assert row.disk == pytest.approx(100 * (1 - root.f_bavail / root.f_blocks), abs=1)
    boot = int(re.search(r"^btime (\d+)", Path("/proc/stat").read_text(), re.M)[1])  # type: ignore[index]
    assert snap.uptime == now - boot  # at − node_boot_time_seconds
    assert row.status in ("healthy", "warning", "critical")


def test_window_returns_ordered_rows_on_the_step_grid(
    collector: PrometheusCollector, node_exporter: NodeExporter
) -> None:
    end = int(time.time())
    start, step = end - 20, 2
    rows = collector.window(start, end, step)
    assert len(rows) >= 3
    keys = [(r.timestamp, r.server_id) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {r.server_id for r in rows} == {node_exporter.address}
    for r in rows:
        assert start <= r.timestamp < end and r.timestamp % step == 0
        assert 0 <= r.cpu <= 100 and 0 <= r.memory <= 100 and 0 <= r.disk <= 100
    only = collector.window(start, end, step, [node_exporter.address])
    assert only == rows


def test_is_online_and_health(collector: PrometheusCollector, node_exporter: NodeExporter) -> None:
    assert collector.is_online(node_exporter.address) is True
    collector.health()


def test_unknown_server_is_refused(collector: PrometheusCollector) -> None:
    now = int(time.time())
    with pytest.raises(UnknownServer) as snap:
        collector.snapshot(["web-99"], now)
    assert snap.value.parameter == "server_id" and snap.value.server_id == "web-99"
    with pytest.raises(UnknownServer) as online:
        collector.is_online("web-99")
    assert online.value.parameter == "server_id"
    with pytest.raises(UnknownServer):
        collector.window(now - 10, now, 2, ["web-99"])
    with pytest.raises(InvalidParameter):
        collector.window(now, now - 10, 2)


def test_prometheus_down_is_source_unavailable() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    c = PrometheusCollector(endpoint, timeout=2.0)
    calls: list[Callable[[], object]] = [
        c.servers, c.health, lambda: c.snapshot(None, int(time.time())),
        lambda: c.window(0, 60, 30), lambda: c.is_online("web-01"),
    ]
    try:
        for call in calls:
            unreachable = re.escape(f"Prometheus at {endpoint} is unreachable")
            with pytest.raises(SourceUnavailable, match=unreachable) as error:
                call()
            assert isinstance(error.value.__cause__, httpx.ConnectError)
    finally:
        c.close()


# --- the HTTP boundary ----------------------------------------------------------------------

AT = 1_704_277_065
SNAPSHOT_PROMQL = (
    'label_replace(1 - avg by (instance) (irate(node_cpu_seconds_total{mode="idle"}[60s])),'
    ' "fleet_field", "cpu", "", "")'
    " or label_replace(max by (instance) (1 - node_memory_MemAvailable_bytes"
    ' / node_memory_MemTotal_bytes), "fleet_field", "memory", "", "")'
    ' or label_replace(max by (instance) (1 - node_filesystem_avail_bytes{mountpoint="/"}'
    ' / node_filesystem_size_bytes{mountpoint="/"}), "fleet_field", "disk", "", "")'
    " or label_replace(sum by (instance) (irate(node_network_receive_bytes_total"
    '{device!="lo"}[60s])) / 1024, "fleet_field", "network_rx", "", "")'
    " or label_replace(sum by (instance) (irate(node_network_transmit_bytes_total"
    '{device!="lo"}[60s])) / 1024, "fleet_field", "network_tx", "", "")'
    " or label_replace(max by (instance) (app_response_time_seconds) * 1000,"
    ' "fleet_field", "response_time", "", "")'
    " or label_replace(max by (instance) (node_netstat_Tcp_CurrEstab),"
    ' "fleet_field", "connections", "", "")'
    ' or label_replace(max by (instance) (up), "fleet_field", "up", "", "")'
    " or label_replace(group by (instance) (node_memory_MemTotal_bytes),"
    ' "fleet_field", "fresh", "", "")'
    " or label_replace(max by (instance) (app_start_time_seconds),"
    ' "fleet_field", "started", "", "")'
    " or label_replace(max by (instance) (node_boot_time_seconds),"
    ' "fleet_field", "boot", "", "")'
    " or label_replace(group by (instance, role) (last_over_time(node_memory_MemTotal_bytes"
    '[3600s])), "fleet_field", "known", "", "")'
)

Handler = Callable[[httpx.Request], httpx.Response]


def mocked(handler: Handler, **options: Any) -> tuple[PrometheusCollector, list[httpx.Request]]:
    """A collector whose HTTP goes to ``handler``; the list records every request."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record))
    return PrometheusCollector("https://prom.example/prefix/", token="s3cret",
                               http_client=client, **options), seen


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def sample(field: str, instance: str, value: float | str, **labels: str) -> dict[str, Any]:
    return {"metric": {"fleet_field": field, "instance": instance, **labels},
            "value": [AT, str(value)]}


def vector(*series: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"status": "success",
                                     "data": {"resultType": "vector", "result": list(series)}})


def test_snapshot_sends_one_exact_promql_query_with_bearer_token() -> None:
    c, seen = mocked(lambda r: vector(sample("known", "web-01", 1, role="web")))
    [snap] = c.snapshot(None, AT)
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://prom.example/prefix/api/v1/query"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert form(request) == {"query": SNAPSHOT_PROMQL, "time": str(AT)}
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0,
                                             "pool": 5.0}
    # Known but without fresh samples: offline.
    assert snap.online is False and snap.row.status == "critical" and snap.uptime is None


def test_snapshot_builds_rows_with_role_thresholds() -> None:
    fleet = [
        sample("known", "web-01", 1, role="web"), sample("known", "node-a", 1),
        sample("fresh", "web-01", 1), sample("fresh", "node-a", 1), sample("up", "node-a", 1),
        *(sample(f, i, v) for i in ("web-01", "node-a") for f, v in (
            ("cpu", 0.4321), ("memory", 0.5), ("disk", 0.25), ("network_rx", 12.345),
            ("network_tx", 0.5), ("response_time", 900.4), ("connections", 41.0))),
        sample("started", "web-01", AT - 300), sample("boot", "node-a", AT - 7200),
    ]
    c, _ = mocked(lambda r: vector(*fleet))
    node, web = c.snapshot(None, AT)
    assert web.row == web.row._replace(
        cpu=43.21, memory=50.0, disk=25.0, network_rx=12.35, network_tx=0.5,
        response_time=900, connections=41, timestamp=AT)
    assert web.row.status == "critical"  # 900 ms is past web's critical 800 ms
    assert node.row.status == "healthy"  # no role label: response time is not classified
    assert (web.online, web.uptime) == (True, 300)
    assert (node.online, node.uptime) == (True, 7200)


def test_servers_reads_templates_from_labels() -> None:
    reply = vector(
        sample("info", "db-01", 64 * 2**30, role="db", name="Database Server 1",
               location="seoul-a", environment="production", platform="vm", job="fleet"),
        sample("cores", "db-01", 16), sample("disk_total", "db-01", 2**40),
        sample("uname", "db-01", 1, nodename="db-01.prod.internal"),
        sample("info", "bare:9100", 2**30, job="node"),
    )
    c, seen = mocked(lambda r: reply)
    bare, db = c.servers()
    assert db == dataclasses.replace(get_fleet().get("db-01"), services=())
    assert (bare.id, bare.role, bare.cpu_cores, bare.memory_total_mb, bare.disk_total_mb) == (
        "bare:9100", "web", 0, 1024, 0)
    assert form(seen[0]) == {"query": (
        'label_replace(last_over_time(node_memory_MemTotal_bytes[3600s]), "fleet_field", "info",'
        ' "", "") or label_replace(count by (instance) (last_over_time(node_cpu_seconds_total'
        '{mode="idle"}[3600s])), "fleet_field", "cores", "", "") or label_replace(max by'
        ' (instance) (last_over_time(node_filesystem_size_bytes{mountpoint="/"}[3600s])),'
        ' "fleet_field", "disk_total", "", "") or label_replace(group by (instance, nodename)'
        ' (last_over_time(node_uname_info[3600s])), "fleet_field", "uname", "", "")')}


def test_window_sends_query_range_on_the_step_grid() -> None:
    tick = AT - AT % 30

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": {
            "resultType": "matrix", "result": [
                {"metric": {"fleet_field": f, "instance": "web-01"},
                 "values": [[tick, "0.5"], [tick + 30, "0.25"]]}
                for f in ("cpu", "memory", "disk")
            ]}})

    c, seen = mocked(handler, rate_window=10)
    rows = c.window(tick - 7, tick + 31, 30)
    assert [(r.timestamp, r.cpu, r.memory) for r in rows] == [(tick, 50.0, 50.0),
                                                               (tick + 30, 25.0, 25.0)]
    sent = form(seen[0])
    assert str(seen[0].url) == "https://prom.example/prefix/api/v1/query_range"
    assert (sent["start"], sent["end"], sent["step"]) == (str(tick), str(tick + 30), "30")
    assert '[10s]' in sent["query"] and '"fleet_field", "role"' in sent["query"]


def test_a_long_window_is_split_below_prometheus_point_limit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success",
                                         "data": {"resultType": "matrix", "result": []}})

    c, seen = mocked(handler)
    assert c.window(0, 25_000, 1) == []
    spans = [(int(form(r)["start"]), int(form(r)["end"])) for r in seen]
    assert spans == [(0, 9_999), (10_000, 19_999), (20_000, 24_999)]


@pytest.mark.parametrize(("reply", "message"), [
    (httpx.Response(200, text="<html>gateway</html>"), "a body that is not JSON: '<html>"),
    (httpx.Response(503, text="Service Unavailable"), "HTTP 503 and a body that is not JSON"),
    (httpx.Response(400, json={"status": "error", "errorType": "bad_data",
                               "error": "1:1: parse error"}),
     "HTTP 400: bad_data: 1:1: parse error"),
    (httpx.Response(200, json={"status": "error", "errorType": "timeout",
                               "error": "query timed out"}), "HTTP 200: timeout: query timed out"),
    (httpx.Response(401, json={"message": "unauthorized"}), "HTTP 401"),
    (httpx.Response(200, json={"status": "success"}), "without data.result"),
    (httpx.Response(200, json=[1, 2]), "without data.result"),
    (httpx.Response(200, json={"status": "success",
                               "data": {"resultType": "matrix", "result": []}}),
     "returned a 'matrix' result, expected 'vector'"),
    (vector({"metric": {"fleet_field": "cpu"}, "value": "oops"}), "malformed series"),
])
def test_bad_replies_are_source_unavailable(reply: httpx.Response, message: str) -> None:
    c, seen = mocked(lambda r: reply)
    with pytest.raises(SourceUnavailable, match=re.escape(message)) as error:
        c.snapshot(None, AT)
    assert "https://prom.example/prefix" in str(error.value) or "malformed" in str(error.value)
    assert len(seen) == 1  # no retries


@pytest.mark.parametrize(("exc", "message"), [
    (httpx.ReadTimeout("slow"), "timed out on /api/v1/query"),
    (httpx.ConnectError("refused"), "is unreachable (/api/v1/query): refused"),
])
def test_transport_errors_are_source_unavailable(exc: httpx.HTTPError, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    c, _ = mocked(handler)
    with pytest.raises(SourceUnavailable, match=re.escape(message)) as error:
        c.health()
    assert error.value.__cause__ is exc


def test_health_sends_a_trivial_query() -> None:
    c, seen = mocked(lambda r: httpx.Response(
        200, json={"status": "success", "data": {"resultType": "scalar", "result": [AT, "1"]}}))
    c.health()
    assert form(seen[0]) == {"query": "1"}
    assert str(seen[0].url) == "https://prom.example/prefix/api/v1/query"


def test_from_settings_names_the_variable() -> None:
    with pytest.raises(ConfigError) as missing:
        PrometheusCollector.from_settings(Settings(collector_mode="prometheus"))
    assert missing.value.variable == "PROMETHEUS_ENDPOINT"
    with pytest.raises(ConfigError, match="http:// or https://"):
        PrometheusCollector.from_settings(Settings(prometheus_endpoint="prom:9090"))
    settings = Settings(collector_mode="prometheus", prometheus_endpoint="http://prom:9090/",
                        prometheus_api_key="k", prometheus_timeout_seconds=2.5)
    collector = get_collector(settings)
    assert isinstance(collector, PrometheusCollector)
    assert (collector.endpoint, collector.mode) == ("http://prom:9090", "prometheus")
    collector.close()
    with pytest.raises(ValueError, match="http"):
        PrometheusCollector("ftp://prom")


# --- round trip: Prometheus scrapes the simulated fleet from the local server -----------------

SEED = 424242
# Read back through Prometheus, values match the generator for the same 30-second tick:
# memory, disk (two decimals), response time and connections exactly; CPU within 0.5
# percentage points and network within 1 % — rate() divides counter increases by scrape
# timestamps, and each sample's value was computed a few milliseconds after its timestamp.
CPU_TOLERANCE = 0.5
NETWORK_TOLERANCE = 0.01
ROUND_TRIP_WINDOW = 10  # rate window (s): inside one 30-second tick when ts % 30 >= 12


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    """``python -m lib serve`` on a free port, simulating SEED's default fleet."""
    require_binaries()
    with running_local_api({
        "METRICS_SEED": str(SEED), "FLEET_PROFILE": "default", "FLEET_TIMEZONE": "Asia/Seoul",
        "COLLECTOR_MODE": "dummy", "METRICS_STORE": "sqlite", "CACHE_BACKEND": "memory",
    }) as address:
        yield address


@pytest.fixture(scope="module")
def fleet_prometheus(local_api: str) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping /api/prometheus every second with honor_labels."""
    with running_prometheus([local_api], job="fleet", metrics_path="/api/prometheus",
                            honor_labels=True) as server:
        wait_for_samples(server, 'up{job="fleet"}', ROUND_TRIP_WINDOW + 2, timeout=60)
        yield server


def safe(ts: int, first_scrape: float) -> bool:
    """Whether [ts − window, ts] (plus a second of scrape jitter) sits inside one tick and
    after the first scrape (rate() underestimates a window its samples do not cover)."""
    return ROUND_TRIP_WINDOW + 2 <= ts % 30 <= 28 and ts - ROUND_TRIP_WINDOW > first_scrape + 1


def settle_in_tick(first_scrape: float) -> int:
    """Sleep until a second ago is a safe instant (at most ~30 s); return it."""
    while not safe(at := int(time.time()) - 1, first_scrape):
        time.sleep(0.2)
    return at


def test_round_trip_reads_the_simulated_fleet_back(fleet_prometheus: PrometheusServer) -> None:
    sim = Simulator(SEED, get_fleet("default"), "Asia/Seoul")
    dummy = DummyCollector(sim)
    up = fleet_prometheus.query('up{job="fleet"}[5m]')[0]
    first_scrape = float(up["values"][0][0])  # type: ignore[index]
    at = settle_in_tick(first_scrape)
    c = PrometheusCollector(fleet_prometheus.url, rate_window=ROUND_TRIP_WINDOW)
    try:
        assert c.servers() == [dataclasses.replace(s, services=()) for s in sim.fleet.servers]
        snaps = c.snapshot(None, at)
        rows = [r for r in c.window(int(first_scrape), at + 1, 1)
                if safe(r.timestamp, first_scrape)]
    finally:
        c.close()
    assert [s.row.server_id for s in snaps] == list(sim.fleet.ids)
    for snap, expected in zip(snaps, dummy.snapshot(None, at), strict=True):
        assert snap.online is True
        assert snap.uptime == expected.uptime + at % 30  # at − app start; dummy: at the tick
        assert_matches(snap.row, expected.row)
    assert len(rows) >= 20 and len(rows) % 20 == 0
    by_tick = {}
    for row in rows:
        tick = row.timestamp - row.timestamp % 30
        if tick not in by_tick:
            by_tick[tick] = {s.row.server_id: s.row for s in dummy.snapshot(None, tick)}
        assert_matches(row, by_tick[tick][row.server_id])


def test_the_analysis_runs_unchanged_on_rows_read_through_prometheus(
    fleet_prometheus: PrometheusServer,
) -> None:
    """lib.analysis on the rows Prometheus gives back (a real source's rows: no seed, no
    schedule) reaches what it reaches on the simulator's rows of the same instants."""
    from lib.analysis import Panel, analyze_panel, describe_server

    sim = Simulator(SEED, get_fleet("default"), "Asia/Seoul")
    dummy = DummyCollector(sim)
    up = fleet_prometheus.query('up{job="fleet"}[5m]')[0]
    first_scrape = float(up["values"][0][0])  # type: ignore[index]
    time.sleep(max(0.0, first_scrape + 45 - time.time()))  # a tick of safe seconds at least
    at = settle_in_tick(first_scrape)
    c = PrometheusCollector(fleet_prometheus.url, rate_window=ROUND_TRIP_WINDOW)
    try:
        roles = {t.id: t.role for t in c.servers()}
        scraped = [r for r in c.window(int(first_scrape), at + 1, 1)
                   if safe(r.timestamp, first_scrape)]
    finally:
        c.close()
    stamps = sorted({r.timestamp for r in scraped})
    assert len(stamps) >= 10
    # the simulator's rows of those instants (a snapshot is stamped with its 30-s tick)
    simulated = [s.row._replace(timestamp=t) for t in stamps
                 for s in dummy.snapshot(None, t)]
    ours, theirs = (analyze_panel(Panel.from_rows(rows, 1), roles)
                    for rows in (scraped, simulated))
    assert list(ours.detection.panel.server_ids) == sorted(roles)
    assert [(i.start, i.origin, i.pattern) for i in ours.incidents] == [
        (i.start, i.origin, i.pattern) for i in theirs.incidents]
    for server_id, role in roles.items():
        got = describe_server(ours.detection, server_id, stamps[-1], role)
        expected = describe_server(theirs.detection, server_id, stamps[-1], role)
        assert got["at"] == expected["at"]
        assert got["health"] == pytest.approx(expected["health"], abs=2), server_id


def assert_matches(got: Any, expected: Any) -> None:
    where = (got.server_id, got.timestamp)
    assert (got.memory, got.disk, got.response_time, got.connections) == (
        expected.memory, expected.disk, expected.response_time, expected.connections), where
    assert got.cpu == pytest.approx(expected.cpu, abs=CPU_TOLERANCE), where
    for name in ("network_rx", "network_tx"):
        assert getattr(got, name) == pytest.approx(
            getattr(expected, name), rel=NETWORK_TOLERANCE, abs=0.01), (where, name)
    near_threshold = any(abs(expected.cpu - t) <= CPU_TOLERANCE
                         for t in RESOURCE_THRESHOLDS["cpu"])
    if not near_threshold:
        assert got.status == expected.status, where


def test_round_trip_counters_never_decreased(fleet_prometheus: PrometheusServer) -> None:
    """Every raw sample Prometheus stored (a range selector returns them unresampled) is at
    least the one before, and Prometheus's own resets() agrees — unless the scrapes spanned
    the daily counter epoch."""
    now = time.time()
    epoch_inside = counter_epoch(now) > now - 300
    for metric in ("node_cpu_seconds_total", "node_network_receive_bytes_total",
                   "node_network_transmit_bytes_total"):
        series = fleet_prometheus.query(f"{metric}[5m]", at=now)
        assert len(series) >= 40
        for s in series:
            values = [float(v) for _, v in s["values"]]  # type: ignore[union-attr]
            assert len(values) >= ROUND_TRIP_WINDOW
            decreases = sum(b < a for a, b in itertools.pairwise(values))
            assert decreases <= (1 if epoch_inside else 0), (metric, s["metric"])
        resets = fleet_prometheus.query(f"max(resets({metric}[5m]))", at=now)
        assert float(resets[0]["value"][1]) <= (1 if epoch_inside else 0)  # type: ignore[index]


# --- a fresh Prometheus scraping every 5 s ------------------------------------------------------

SCRAPE = 5
RATE_WINDOW = 15
IDLE = 'node_cpu_seconds_total{mode="idle",instance="%s",cpu="0"}'


def mean_cpu(dummy: DummyCollector, server_id: str, start: float, end: float) -> float:
    """The simulator's CPU averaged over [start, end], each 30-s tick weighted by its share."""
    total, tick = 0.0, int(start // 30) * 30
    while tick < end:
        overlap = min(end, tick + 30) - max(start, tick)
        if overlap > 0:
            total += overlap * dummy.snapshot([server_id], tick)[0].row.cpu
        tick += 30
    return total / (end - start)


def samples(server: PrometheusServer, expr: str, at: float) -> list[float]:
    """The timestamps of the raw samples of ``expr`` in the 30 s before ``at``."""
    found = server.query(f"{expr}[30s]", at=at)
    return [float(t) for t, _ in found[0]["values"]] if found else []  # type: ignore[index]


def test_a_fresh_prometheus_reads_the_fleet_from_its_second_scrape(local_api: str) -> None:
    sim = Simulator(SEED, get_fleet("default"), "Asia/Seoul")
    dummy = DummyCollector(sim)
    with running_prometheus([local_api], job="fleet", metrics_path="/api/prometheus",
                            honor_labels=True, scrape_interval=f"{SCRAPE}s") as server:
        wait_for_samples(server, 'up{job="fleet"}', 2, timeout=60)
        time.sleep(1.1)  # the collector asks at whole seconds: both samples before then
        at = int(time.time())
        collector = PrometheusCollector(server.url, rate_window=60)
        try:
            snaps = {s.row.server_id: s.row for s in collector.snapshot(None, at)}
        finally:
            collector.close()
        checked = 0
        for server_id in ("api-01", "db-02", "web-05", "worker-01"):
            times = samples(server, IDLE % server_id, at)
            assert len(times) >= 2
            # irate: the last two samples, so the simulator's mean between them
            expected = mean_cpu(dummy, server_id, times[-2], times[-1])
            assert snaps[server_id].cpu == pytest.approx(expected, abs=1.0), server_id
            checked += 1
        assert checked == 4
        covered = server_covered_rate_windows(server, dummy)
        assert covered >= 3


def server_covered_rate_windows(server: PrometheusServer, dummy: DummyCollector) -> int:
    """rate() over 15-s windows, once its scrapes cover one, at instants a few seconds apart
    (some straddling a tick): within 1 point of the simulator's mean over the samples."""
    wait_for_samples(server, 'up{job="fleet"}', RATE_WINDOW // SCRAPE + 2, timeout=60)
    checked = 0
    for _ in range(4):
        at = time.time() - 1
        rate = server.query(
            f'100 * (1 - rate({IDLE % "api-01"}[{RATE_WINDOW}s]))', at=at)
        times = [t for t in samples(server, IDLE % "api-01", at) if t > at - RATE_WINDOW]
        assert len(times) >= 2 and rate
        got = float(rate[0]["value"][1])  # type: ignore[index]
        assert got == pytest.approx(mean_cpu(dummy, "api-01", times[0], times[-1]), abs=1.0)
        checked += 1
        time.sleep(SCRAPE + 2)
    return checked

"""The custom collector against a local on-premises API implementing docs/custom-collector.md."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from lib.collectors import Collector, Snapshot, get_collector
from lib.collectors.custom import (
    CustomCollector,
    LatestJSON,
    SeriesJSON,
    ServerListJSON,
    StatusJSON,
)
from lib.core import (
    DAY,
    ConfigError,
    InvalidParameter,
    Settings,
    SourceUnavailable,
    UnknownServer,
    parse_instant,
)
from lib.sim import Simulator, get_fleet
from tests.services.onprem import DEFAULT_SERVERS, LATEST_AT, ONPREM_KEY, SEED, OnPremAPI

DAY0 = parse_instant("2024-01-01", "DAY0")
TICK = LATEST_AT - LATEST_AT % 30
AUTH = f"Bearer {ONPREM_KEY}"


@pytest.fixture
def collector(onprem: OnPremAPI) -> Iterator[CustomCollector]:
    c = CustomCollector(onprem.url, ONPREM_KEY, timeout=2.0)
    yield c
    c.close()


def sent(api: OnPremAPI) -> list[tuple[str, dict[str, list[str]]]]:
    """(path, query) of every request, sorted (per-server requests run concurrently)."""
    assert all(r.method == "GET" for r in api.requests)
    assert all(r.headers.get("authorization") == AUTH for r in api.requests)
    assert all("x-api-key" not in r.headers for r in api.requests)
    return sorted((r.path, r.query) for r in api.requests)


def per_server(ids: list[str], *leaves: str) -> list[tuple[str, dict[str, list[str]]]]:
    return [(f"/api/servers/{sid}/{leaf}", {}) for sid in ids for leaf in leaves]


# -- inventory ---------------------------------------------------------------------------------


def test_servers_returns_the_served_templates(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    servers = collector.servers()
    fleet = get_fleet()
    assert servers == [fleet.get(sid) for sid in sorted(DEFAULT_SERVERS)]
    assert [s.role for s in servers] == ["api", "cache", "db", "web", "web", "worker"]
    assert servers[2].memory_total_mb == 65_536 and servers[2].services == ("postgresql",
                                                                              "pgbouncer")
    assert sent(onprem) == [("/api/servers", {})]
    assert onprem.requests[0].headers["accept"] == "application/json"


def test_collector_satisfies_the_protocol(collector: CustomCollector) -> None:
    assert isinstance(collector, Collector)
    assert collector.mode == "custom"
    assert collector.incidents(DAY0, DAY0 + DAY) == []


def test_health_reads_the_inventory(collector: CustomCollector, onprem: OnPremAPI) -> None:
    collector.health()
    assert sent(onprem) == [("/api/servers", {})]


# -- snapshot ----------------------------------------------------------------------------------


def test_snapshot_of_all_servers_equals_what_was_served(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    snapshots = collector.snapshot(None, LATEST_AT)
    ids = sorted(DEFAULT_SERVERS)
    assert snapshots == [Snapshot(onprem.latest(s), onprem.uptime(s), True) for s in ids]
    # the served values are the generator's, statuses included: classify agrees with it
    expected = Simulator(SEED, get_fleet()).frame(TICK, TICK + 30, 30, ids).rows()
    assert [s.row for s in snapshots] == list(expected)
    assert {s.row.timestamp for s in snapshots} == {TICK}
    assert sent(onprem) == sorted(
        [("/api/servers", {}), *per_server(ids, "metrics", "status")]
    )


def test_snapshot_of_some_servers_asks_only_for_them(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    snapshots = collector.snapshot(["web-02", "db-01", "web-02"], LATEST_AT)
    assert [s.row.server_id for s in snapshots] == ["db-01", "web-02"]
    assert snapshots[0] == Snapshot(onprem.latest("db-01"), onprem.uptime("db-01"), True)
    assert snapshots[1].row.cpu == onprem.latest("web-02").cpu
    assert sent(onprem) == sorted(
        [("/api/servers", {}), *per_server(["db-01", "web-02"], "metrics", "status")]
    )
    onprem.requests.clear()
    assert collector.snapshot([], LATEST_AT) == []
    assert onprem.requests == []


def test_snapshot_status_follows_the_role_thresholds(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    calm = {"cpu": 10.0, "memory": 10.0, "disk": 10.0}
    # web (300/800), cache (40/150), db (150/500), api (450/1000), worker (2000/6000)
    onprem.override("web-01", **calm, response_time=350)        # warning for web
    onprem.override("cache-01", **calm, response_time=350)      # critical for cache
    onprem.override("db-01", **calm, response_time=149.6)       # rounds to 150: warning
    onprem.override("api-01", **calm, response_time=449)        # just under: healthy
    onprem.override("worker-01", **{**calm, "cpu": 90.0}, response_time=None)  # cpu critical
    onprem.override("web-02", memory=80.0, disk=10.0, cpu=10.0, response_time=10)
    rows = {s.row.server_id: s.row for s in collector.snapshot(None, LATEST_AT)}
    assert {sid: r.status for sid, r in rows.items()} == {
        "api-01": "healthy",
        "cache-01": "critical",
        "db-01": "warning",
        "web-01": "warning",
        "web-02": "warning",
        "worker-01": "critical",
    }
    assert rows["db-01"].response_time == 150
    assert rows["worker-01"].response_time is None
    assert rows["worker-01"].cpu == 90.0 and rows["web-02"].memory == 80.0


def test_stale_server_is_returned_with_its_own_timestamp(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    onprem.set_offline("web-02", since=LATEST_AT - 3_600)
    later = LATEST_AT + 6 * 3_600
    snapshots = {s.row.server_id: s for s in collector.snapshot(None, later)}
    stale = snapshots["web-02"]
    assert stale.row.timestamp == TICK - 3_600
    assert stale.row == onprem.latest("web-02")
    assert (stale.online, stale.uptime) == (False, None)
    assert snapshots["web-01"].row.timestamp == TICK and snapshots["web-01"].online


# -- window ------------------------------------------------------------------------------------


def test_window_is_complete_and_ordered(collector: CustomCollector, onprem: OnPremAPI) -> None:
    rows = collector.window(DAY0, DAY0 + DAY, 600)
    ids = sorted(DEFAULT_SERVERS)
    assert len(rows) == 144 * len(ids)
    assert [(r.timestamp, r.server_id) for r in rows] == [
        (DAY0 + i * 600, sid) for i in range(144) for sid in ids
    ]
    served = sorted((r for sid in ids for r in onprem.series(sid, DAY0, DAY0 + DAY, 600)),
                    key=lambda r: (r.timestamp, r.server_id))
    assert rows == served
    assert rows == list(Simulator(SEED, get_fleet()).frame(DAY0, DAY0 + DAY, 600, ids).rows())
    query = {"from": ["2024-01-01T00:00:00Z"], "to": ["2024-01-02T00:00:00Z"], "step": ["600"]}
    assert sent(onprem) == sorted(
        [("/api/servers", {}), *[(f"/api/servers/{sid}/metrics", query) for sid in ids]]
    )


def test_window_of_some_servers_ends_at_the_latest_sample(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    start = TICK - 3_600
    rows = collector.window(start, TICK + 3_600, 300, ["worker-01", "api-01"])
    # the source has nothing after its latest sample (TICK, on the 300 s grid here)
    assert [(r.timestamp, r.server_id) for r in rows] == [
        (start + i * 300, sid) for i in range(13) for sid in ("api-01", "worker-01")
    ]
    assert [r for r in rows if r.server_id == "api-01"] == onprem.series(
        "api-01", start, TICK + 3_600, 300
    )
    assert [p for p, _ in sent(onprem)] == [
        "/api/servers", "/api/servers/api-01/metrics", "/api/servers/worker-01/metrics"
    ]


def test_window_rejects_bad_ranges_before_asking(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    assert collector.window(DAY0, DAY0, 600) == []
    with pytest.raises(InvalidParameter) as step:
        collector.window(DAY0, DAY0 + DAY, 10)
    assert step.value.parameter == "step"
    with pytest.raises(InvalidParameter) as end:
        collector.window(DAY0 + DAY, DAY0, 600)
    assert end.value.parameter == "end"
    assert onprem.requests == []


# -- status and unknown servers ----------------------------------------------------------------


def test_is_online_reads_the_status_endpoint(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    onprem.set_down("web-02")
    assert collector.is_online("web-01") is True
    assert collector.is_online("web-02") is False
    assert [r.path for r in onprem.requests] == [
        "/api/servers/web-01/status", "/api/servers/web-02/status"
    ]


def test_unknown_server_raises_unknown_server(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    with pytest.raises(UnknownServer) as from_404:
        collector.is_online("web-99")
    assert from_404.value.server_id == "web-99"
    assert [r.path for r in onprem.requests] == ["/api/servers/web-99/status"]

    onprem.requests.clear()
    with pytest.raises(UnknownServer) as from_inventory:
        collector.snapshot(["web-01", "web-99"], LATEST_AT)
    assert from_inventory.value.server_id == "web-99"
    with pytest.raises(UnknownServer):
        collector.window(DAY0, DAY0 + DAY, 600, ["web-99"])
    # the inventory answered first: no per-server request was wasted
    assert [r.path for r in onprem.requests] == ["/api/servers", "/api/servers"]


def test_server_ids_are_escaped_in_paths(collector: CustomCollector, onprem: OnPremAPI) -> None:
    with pytest.raises(UnknownServer):
        collector.is_online("a/b c")
    assert [r.path for r in onprem.requests] == ["/api/servers/a%2Fb%20c/status"]


# -- failures ----------------------------------------------------------------------------------


def test_wrong_key_is_an_authentication_failure(onprem: OnPremAPI) -> None:
    collector = CustomCollector(onprem.url, "wrong-key", timeout=2.0)
    with pytest.raises(SourceUnavailable) as exc:
        collector.servers()
    message = str(exc.value)
    assert f"on-premises API {onprem.url}: GET /api/servers: authentication failed (HTTP 401)" \
        in message
    assert "ONPREM_API_KEY" in message and "wrong-key" not in message
    assert onprem.requests[0].headers["authorization"] == "Bearer wrong-key"
    collector.close()


def test_down_server_fails_with_its_endpoint_named(
    collector: CustomCollector, onprem: OnPremAPI
) -> None:
    onprem.set_down("web-02")
    calls: list[Callable[[], object]] = [lambda: collector.snapshot(None, LATEST_AT),
                                         lambda: collector.window(DAY0, DAY0 + DAY, 600)]
    for call in calls:
        with pytest.raises(SourceUnavailable) as exc:
            call()
        assert str(exc.value) == (
            f"on-premises API {onprem.url}: GET /api/servers/web-02/metrics: "
            "HTTP 503 Service Unavailable: {\"error\": \"agent on web-02 unreachable\"}"
        )
    # the other servers still answer
    assert len(collector.snapshot(["web-01", "db-01"], LATEST_AT)) == 2


def test_malformed_json_names_the_endpoint(collector: CustomCollector, onprem: OnPremAPI) -> None:
    onprem.corrupt("malformed", "db-01")
    assert len(collector.servers()) == 6  # the inventory is intact
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: collector.snapshot(None, LATEST_AT), "/api/servers/db-01/metrics"),
        (lambda: collector.window(DAY0, DAY0 + DAY, 600), "/api/servers/db-01/metrics"),
        (lambda: collector.is_online("db-01"), "/api/servers/db-01/status"),
    ]
    for call, path in cases:
        with pytest.raises(SourceUnavailable) as exc:
            call()
        assert str(exc.value).startswith(
            f"on-premises API {onprem.url}: GET {path}: malformed JSON (Invalid JSON: EOF"
        )
        assert isinstance(exc.value.__cause__, ValidationError)  # raised from the parser's
    onprem.corrupt("malformed")
    with pytest.raises(SourceUnavailable, match=r"GET /api/servers: malformed JSON"):
        collector.health()


@pytest.mark.parametrize(
    ("kind", "call", "problem"),
    [
        ("missing", "servers", "GET /api/servers: unexpected JSON: servers[0].role: Field "
                               "required"),
        ("wrong_type", "servers", "GET /api/servers: unexpected JSON: servers[0].cpu_cores: "
                                  "Input should be a valid integer, got 'eight'"),
        ("out_of_range", "servers", "GET /api/servers: unexpected JSON: servers[0].cpu_cores: "
                                    "Input should be greater than 0, got 0"),
        ("missing", "snapshot", "GET /api/servers/api-01/metrics: unexpected JSON: cpu: Field "
                                "required"),
        ("wrong_type", "snapshot", "GET /api/servers/api-01/metrics: unexpected JSON: cpu: "
                                   "Input should be a valid number, got 'high'"),
        ("out_of_range", "snapshot", "GET /api/servers/api-01/metrics: unexpected JSON: cpu: "
                                     "Input should be less than or equal to 100, got 140.0"),
        ("out_of_range", "window", "GET /api/servers/api-01/metrics: unexpected JSON: "
                                   "metrics[143].cpu: Input should be less than or equal to "
                                   "100, got 140.0"),
        ("wrong_type", "is_online", "GET /api/servers/api-01/status: unexpected JSON: online: "
                                    "Input should be a valid boolean, got 'yes'"),
        ("out_of_range", "is_online", "GET /api/servers/api-01/status: unexpected JSON: uptime: "
                                      "Input should be greater than or equal to 0, got -5"),
    ],
)
def test_wrong_shaped_json_names_the_field(
    collector: CustomCollector, onprem: OnPremAPI, kind: Any, call: str, problem: str
) -> None:
    onprem.corrupt(kind, None if call == "servers" else "api-01")
    calls: dict[str, Callable[[], object]] = {
        "servers": collector.servers,
        "snapshot": lambda: collector.snapshot(["api-01"], LATEST_AT),
        "window": lambda: collector.window(DAY0, DAY0 + DAY, 600, ["api-01"]),
        "is_online": lambda: collector.is_online("api-01"),
    }
    with pytest.raises(SourceUnavailable) as exc:
        calls[call]()
    assert str(exc.value) == f"on-premises API {onprem.url}: {problem}"


def test_hung_source_times_out(onprem: OnPremAPI) -> None:
    collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=0.5)
    onprem.hang(True)
    began = time.perf_counter()
    with pytest.raises(SourceUnavailable) as exc:
        collector.servers()
    elapsed = time.perf_counter() - began
    assert 0.4 < elapsed < 3.0
    assert str(exc.value) == (
        f"on-premises API {onprem.url}: GET /api/servers: timed out after 0.5 s (ReadTimeout)"
    )
    assert isinstance(exc.value.__cause__, httpx.ReadTimeout)
    collector.close()


def test_one_hung_server_bounds_the_snapshot_by_one_timeout(onprem: OnPremAPI) -> None:
    collector = CustomCollector(onprem.url, ONPREM_KEY, timeout=0.5)
    onprem.hang(True, "db-01")
    began = time.perf_counter()
    with pytest.raises(SourceUnavailable, match=r"GET /api/servers/db-01/metrics: timed out"):
        collector.snapshot(None, LATEST_AT)
    assert time.perf_counter() - began < 3.0
    collector.close()


def test_unreachable_source_is_unavailable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    collector = CustomCollector(f"http://127.0.0.1:{port}", ONPREM_KEY, timeout=0.5)
    with pytest.raises(SourceUnavailable, match=r"GET /api/servers: request failed: ConnectError"):
        collector.health()
    collector.close()


# -- contract details through an injected transport ---------------------------------------------


def test_optional_fields_extra_fields_and_duplicate_ids() -> None:
    template = {"id": "db-7", "name": "DB 7", "hostname": "db-7.dc", "role": "db",
                "location": "idc", "environment": "staging", "cpu_cores": 32,
                "memory_total_mb": 1024, "disk_total_mb": 2048, "services": [], "rack": "B4"}
    inventories = [[template], [template], [template, template]]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/base/api/servers":
            return httpx.Response(200, json={"servers": inventories.pop(0)})
        point = {"timestamp": "2024-01-01T00:10:00+09:00", "cpu": 1, "memory": 2.5, "disk": 3,
                 "network_rx": 0, "network_tx": 0, "connections": 4}
        if request.url.params:  # a series that also sends the sample at `to` (inclusive end)
            late = {**point, "timestamp": "2024-01-01T00:00:00Z"}
            return httpx.Response(200, json={"server_id": "db-7", "metrics": [point, late]})
        return httpx.Response(200, json={"server_id": "db-7", **point})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    collector = CustomCollector("https://onprem.example/base/", "k", http_client=client)
    [server] = collector.servers()
    assert (server.platform, server.environment, server.services) == ("on-premises", "staging",
                                                                      ())
    rows = collector.window(DAY0 - DAY, DAY0, 600)
    assert [(r.timestamp, r.response_time, r.cpu, r.status) for r in rows] == [
        (DAY0 - 9 * 3_600 + 600, None, 1.0, "healthy")
    ]
    with pytest.raises(SourceUnavailable, match=r"server id 'db-7' is listed twice"):
        collector.servers()
    collector.close()
    assert not client.is_closed  # an injected client stays the caller's
    client.close()


def test_series_for_another_server_is_rejected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"server_id": "web-01", "online": True, "uptime": 5})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    collector = CustomCollector("http://onprem", "k", http_client=client)
    with pytest.raises(SourceUnavailable, match=r"answered for server_id 'web-01', asked for "
                                                r"'web-02'"):
        collector.is_online("web-02")
    client.close()


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "key", "variable", "message"),
    [
        (None, "k", "ONPREM_API_ENDPOINT", "is required (COLLECTOR_MODE=custom)"),
        ("  ", "k", "ONPREM_API_ENDPOINT", "is required"),
        ("ftp://monitoring.local", "k", "ONPREM_API_ENDPOINT", "must be an http(s) URL"),
        ("monitoring.local", "k", "ONPREM_API_ENDPOINT", "must be an http(s) URL"),
        ("https://monitoring.local?x=1", "k", "ONPREM_API_ENDPOINT", "must not have a query"),
        ("https://monitoring.local", None, "ONPREM_API_KEY", "required when COLLECTOR_MODE"),
        ("https://monitoring.local", " ", "ONPREM_API_KEY", "required"),
    ],
)
def test_from_settings_names_the_variable(
    endpoint: str | None, key: str | None, variable: str, message: str
) -> None:
    settings = Settings(collector_mode="custom", onprem_api_endpoint=endpoint,
                        onprem_api_key=key)
    with pytest.raises(ConfigError) as exc:
        CustomCollector.from_settings(settings)
    assert exc.value.variable == variable
    assert str(exc.value).startswith(f"{variable}: ")
    assert message in str(exc.value)
    with pytest.raises(ConfigError):  # the factory reports the same
        get_collector(settings)


def test_factory_builds_a_working_custom_collector(onprem: OnPremAPI) -> None:
    settings = Settings(collector_mode="custom", onprem_api_endpoint=onprem.url + "/",
                        onprem_api_key=ONPREM_KEY, onprem_timeout_seconds=1.5)
    collector = get_collector(settings)
    assert isinstance(collector, CustomCollector)
    assert collector.endpoint == onprem.url
    assert collector.is_online("cache-01") is True
    collector.close()


def test_the_documented_examples_parse() -> None:
    """The JSON examples in docs/custom-collector.md are accepted as written."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "custom-collector.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```json\n")[1:]]
    models: list[type[BaseModel]] = [ServerListJSON, LatestJSON, SeriesJSON, StatusJSON]
    assert len(blocks) == len(models)
    parsed = [m.model_validate_json(b) for m, b in zip(models, blocks, strict=True)]
    assert isinstance(parsed[0], ServerListJSON) and parsed[0].servers[0].role == "db"
    assert isinstance(parsed[2], SeriesJSON) and len(parsed[2].metrics) == 3

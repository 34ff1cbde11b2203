"""Fuzzing: every operation of the OpenAPI schema (schemathesis), and the string parameters
with arbitrary text (hypothesis). Bad input is a 4xx in the JSON error shape, never a 5xx.

Requests that once answered 5xx are pinned below (``ONCE_5XX``) as regression tests.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response

from lib.app import METRICS, store_window
from lib.collectors import DummyCollector, simulator_from
from lib.core import DAY, STATUSES, Settings, get_settings, parse_instant
from lib.sim import DEFAULT_STEP, get_fleet
from lib.web import combined_app, deps, function_modules
from tests.services.prometheus import running_local_api

CRON_SECRET = "fuzz-cron-secret"
AUTHORIZED = {"Authorization": f"Bearer {CRON_SECRET}"}
SERVERS = [s.id for s in get_fleet().servers]


def documented_parameters(app: FastAPI) -> dict[str, set[str]]:
    """Each path's parameter names as its OpenAPI lists them, and its JSON body's fields
    (with ``body`` for a body that is not JSON at all)."""
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})

    def body_fields(operation: dict[str, Any]) -> set[str]:
        content = operation.get("requestBody", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        if not ref:
            return set()
        return {"body", *schemas[ref.rsplit("/", 1)[1]].get("properties", {})}

    return {
        path: {p["name"] for op in operations.values() for p in op.get("parameters", [])}
        | {f for op in operations.values() for f in body_fields(op)}
        for path, operations in document["paths"].items()
    }


PARAMETERS = documented_parameters(combined_app())
FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The combined app on a scratch SQLite store holding the last 24 hours of the fleet."""
    path = tmp_path_factory.mktemp("fuzz") / "metrics.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        for name in Settings.model_fields:
            env.delenv(name.upper(), raising=False)
        env.setenv("SQLITE_PATH", str(path))
        env.setenv("METRICS_STORE", "sqlite")
        env.setenv("CACHE_BACKEND", "memory")
        env.setenv("CRON_SECRET", CRON_SECRET)
        env.setenv("ALERTS_TOKEN", CRON_SECRET)  # one header authorises every write here
        deps.reset_resources()
        get_settings.cache_clear()
        now = int(time.time())
        end = now - now % DEFAULT_STEP + DEFAULT_STEP  # through the current tick
        written = store_window(DummyCollector(simulator_from(get_settings())),
                               deps.provide_store(), end - DAY, end)
        assert written.rows == DAY // DEFAULT_STEP * len(SERVERS)
        try:
            yield combined_app()
        finally:
            deps.reset_resources()


@pytest.fixture(scope="module")
def client(fuzz_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as client:
        yield client


def assert_no_server_error(response: httpx.Response | Response, path: str) -> None:
    """Below 500; a 4xx names a parameter of this endpoint in the one JSON error shape."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request} -> {response.status_code} {response.text}"
    if response.status_code >= 400 and response.status_code != 405:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], request
        assert isinstance(error["message"], str) and error["message"], request
        assert set(error) <= {"code", "message", "parameter"}, request
        if "parameter" in error:
            assert error["parameter"].split("[")[0] in PARAMETERS[path] | {"request"}, request


# --- schemathesis: every operation from the OpenAPI schema -----------------------------------


# Every check schemathesis has, with two settings of ours: positive data may answer 422 (a
# combination of individually valid values that contradict each other: an end before its
# start, a window too large for its step — OpenAPI cannot express those) or 404 (a server the
# fleet does not have), and the analysis of incidents and the silences 400 (a window longer
# than a function serves in its time, a regex that does not compile); negative data must be
# rejected. The batch is
# called with the secret (ignored_auth checks that it is needed). Loaded when the module is
# collected (schemathesis' lazy ``from_fixture`` fails under pytest 9); the app reads its
# backends on each request, so ``fuzz_app`` still sets them up in time.
POSITIVE = ["2xx", "304", "401", "404", "422"]
SCHEMATHESIS = SchemathesisConfig.from_dict({
    "checks": {
        "positive_data_acceptance": {"expected-statuses": POSITIVE},
        "max_response_time": 5.0,
    },
    "operations": [
        {"include-path": path, "checks": {
            "positive_data_acceptance": {"expected-statuses": [*POSITIVE, "400"]}}}
        # a window longer than a function serves in its time; a silence's regex that does
        # not compile: rules the schema cannot say
        for path in ("/api/analysis/incidents", "/api/analysis/truth", "/api/alerts/silences")],
    "auth": {"openapi": {"cronBearer": {"bearer": CRON_SECRET},
                         "alertsBearer": {"bearer": CRON_SECRET}}},
})
schema = schemathesis.openapi.from_asgi("/api/openapi.json", combined_app(),
                                        config=SCHEMATHESIS)


def test_schema_lists_every_function() -> None:
    listed = {(m.upper(), path) for path, ops in schema.raw_schema["paths"].items() for m in ops}
    served = {(method, route.path) for module in function_modules().values()
              for route in module.router.routes
              if isinstance(route, APIRoute) and route.include_in_schema
              for method in route.methods or ()}
    assert listed == served
    assert {("GET", "/api/metrics/daily"), ("GET", "/api/monitoring/servers"),
            ("GET", "/api/monitoring/performance"), ("GET", "/api/status"),
            ("GET", "/api/generate-batch"), ("POST", "/api/generate-batch")} <= listed


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_passes_every_schemathesis_check(fuzz_app: FastAPI, case: Any) -> None:
    response = case.call_and_validate()
    assert_no_server_error(response, case.path)


# --- hypothesis: the string parameters with arbitrary text -----------------------------------

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # any unicode, NUL too
huge = st.one_of(st.integers(-(10**40), 10**40), st.floats()).map(str)
# The whole of datetime's range: instants outside 1900..2199 must be a 400, not a 5xx.
SAFE_MIN, SAFE_MAX = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59)
zones: st.SearchStrategy[tzinfo] = st.one_of(
    st.just(UTC), st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))))
instant = st.one_of(
    st.datetimes(SAFE_MIN, SAFE_MAX).map(datetime.isoformat),
    st.datetimes(SAFE_MIN, SAFE_MAX, timezones=zones).map(datetime.isoformat),
    st.dates(SAFE_MIN.date(), SAFE_MAX.date()).map(str),
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).map(
        lambda d: f"{d:%Y-%m-%dT%H:%M:%S}Z"),
)
recent = st.integers(-2 * DAY, 0).map(
    lambda ago: (datetime.now(UTC) + timedelta(seconds=ago)).isoformat())
time_value = st.one_of(instant, recent, text, huge)


def cursor_for(timestamp: int, server: str) -> str:
    return base64.urlsafe_b64encode(f"{timestamp}|{server}".encode()).decode().rstrip("=")


cursor = st.one_of(text, huge, st.builds(cursor_for, st.integers(-(10**30), 10**30),
                                         st.one_of(st.sampled_from(SERVERS), text)))
def mostly(valid: st.SearchStrategy[str], other: st.SearchStrategy[str]
           ) -> st.SearchStrategy[str]:
    """``valid`` three times in four, so that requests get past the first bad parameter."""
    return st.integers(0, 3).flatmap(lambda k: other if k == 0 else valid)


valid_server = st.sampled_from(SERVERS)
steps = st.sampled_from([30, 60, 600, 3600, 86_400]).map(str)
server = st.one_of(valid_server, text, huge)
status = st.one_of(st.sampled_from(STATUSES), text, st.lists(
    st.sampled_from([*STATUSES, "offline", ""]), max_size=4).map(",".join))


@FUZZ
@given(params=st.fixed_dictionaries({}, optional={
    "server_id": server, "start_time": time_value, "end_time": time_value,
    "status": status, "limit": mostly(st.integers(1, 5000).map(str), huge), "cursor": cursor,
}))
def test_daily_string_parameters_never_5xx(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/metrics/daily", params=params)
    assert_no_server_error(response, "/api/metrics/daily")
    if response.status_code == 200:
        body = response.json()
        assert body["count"] == len(body["data"])


@FUZZ
@given(params=st.fixed_dictionaries({}, optional={"serverId": server, "at": time_value}))
def test_servers_string_parameters_never_5xx(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/monitoring/servers", params=params)
    assert_no_server_error(response, "/api/monitoring/servers")
    if response.status_code == 200:
        body = response.json()
        assert body["summary"]["total"] == len(body["servers"])


@FUZZ
@given(params=st.fixed_dictionaries({"serverId": mostly(valid_server, server)}, optional={
    # At most 2,000 points per response: most valid windows are near each other.
    "from": mostly(recent, time_value), "to": mostly(recent, time_value),
    "metric": mostly(st.sampled_from(METRICS), text), "step": mostly(steps, huge),
}))
def test_performance_string_parameters_never_5xx(client: TestClient, params: dict[str, str]
                                                 ) -> None:
    response = client.get("/api/monitoring/performance", params=params)
    assert_no_server_error(response, "/api/monitoring/performance")
    if response.status_code == 200:
        assert response.json()["serverId"] == params["serverId"]


@FUZZ
@given(params=st.fixed_dictionaries({}, optional={
    "date": time_value, "start": time_value, "end": time_value}),
       authorization=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20,
                                                                 max_codepoint=0x7E))))
def test_generate_batch_without_the_secret_is_401(
    client: TestClient, params: dict[str, str], authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/api/generate-batch", params=params, headers=headers)
    assert_no_server_error(response, "/api/generate-batch")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@FUZZ
@given(params=st.fixed_dictionaries({}, optional={"at": time_value}))
def test_prometheus_at_never_5xx(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/prometheus", params=params)
    assert_no_server_error(response, "/api/prometheus")
    if response.status_code == 200:
        assert response.text.startswith("# HELP ")


@settings(FUZZ, max_examples=30)
@given(params=st.fixed_dictionaries({}, optional={
    "date": mostly(st.dates(SAFE_MIN.date(), SAFE_MAX.date()).map(str), time_value),
    "start": time_value, "end": time_value}))
def test_generate_batch_with_the_secret_never_5xx(client: TestClient, params: dict[str, str]
                                                  ) -> None:
    response = client.post("/api/generate-batch", params=params, headers=AUTHORIZED)
    assert_no_server_error(response, "/api/generate-batch")
    if response.status_code == 200:
        body = response.json()
        start, end = (parse_instant(body["window"][k], k) for k in ("start", "end"))
        assert body["rows"] == -(-(end - start) // DEFAULT_STEP) * len(SERVERS)


# --- requests that once answered 5xx (overflows at datetime's edges, huge cursors) ----------

ONCE_5XX = [
    pytest.param(
        "/api/monitoring/servers?at=0001-01-01T00:00:00Z", {},
        id="servers-at-year-1"),
    pytest.param(
        "/api/prometheus?at=0001-01-01T00:00:00Z", {},
        id="prometheus-at-year-1"),
    pytest.param(
        "/api/prometheus?at=9999-12-31T23:59:59Z", {},
        id="prometheus-at-year-9999"),
    pytest.param(
        "/api/monitoring/performance?serverId=web-01&to=0001-01-01T00:00:00Z", {},
        id="performance-to-year-1"),
    pytest.param(
        "/api/monitoring/performance?serverId=web-01"
        "&from=9999-12-31T23:00:00Z&to=9999-12-31T23:59:59Z", {},
        id="performance-year-9999"),
    pytest.param(
        "/api/metrics/daily?cursor=" + cursor_for(10**20, "web-01"), {},
        id="daily-cursor-huge-int"),
    pytest.param(
        "/api/generate-batch?date=9999-12-31", AUTHORIZED,
        id="generate-batch-date-9999"),
]


@pytest.mark.parametrize(("url", "headers"), ONCE_5XX)
def test_once_5xx_request_answers_4xx(client: TestClient, url: str, headers: dict[str, str]
                                       ) -> None:
    response = client.get(url, headers=headers)
    assert_no_server_error(response, url.split("?")[0])
    assert response.status_code in (400, 422)


# --- the schemathesis command line against the running local server ---------------------------

ST_CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "304", "401", "404", "422"]

[[operations]]
include-path = "/api/analysis/incidents"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "401", "404", "422", "400"]

[[operations]]
include-path = "/api/analysis/truth"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "401", "404", "422", "400"]

[[operations]]
include-path = "/api/alerts/silences"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "401", "404", "422", "400"]
"""


def test_schemathesis_cli_with_every_check_finds_nothing(tmp_path: Path) -> None:
    """What a user of the published contract would run: every phase (examples, coverage
    including unsupported methods, fuzzing with positive and negative data, stateful) and
    every check, over real HTTP to ``python -m lib serve``."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(ST_CONFIG)
    st = Path(sys.executable).with_name("st")
    with running_local_api({"CRON_SECRET": CRON_SECRET, "ALERTS_TOKEN": CRON_SECRET,
                            "METRICS_STORE": "sqlite"}) as address:
        result = subprocess.run(
            [str(st), "--config-file", str(config), "run",
             f"http://{address}/api/docs?format=openapi", "--url", f"http://{address}",
             "--checks", "all", "--max-response-time", "5", "--max-examples", "25",
             "--seed", "20241123", "--header", f"Authorization: Bearer {CRON_SECRET}",
             "--no-color"],
            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Coverage" in output and "Fuzzing" in output and "Stateful" in output
    assert re.search(r"\d+ generated, \d+ passed", output), output[-2000:]

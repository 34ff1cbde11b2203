"""SupabaseStore at its HTTP boundary.

The first part asserts the exact requests the store sends, answered by plain
``httpx.MockTransport`` handlers (no database). The second part runs the store against the
PostgREST emulator in front of the real test PostgreSQL (tests/store/postgrest_mock.py); the
shared contract suite (test_contract.py) runs every behaviour test against it as well.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from lib.core import (
    METRIC_COLUMNS,
    AffectedServer,
    ConfigError,
    Incident,
    MetricRow,
    StoreError,
    StoreUnavailable,
    format_iso,
)
from lib.sim import get_fleet
from lib.store import MetricQuery, MetricStore
from lib.store.supabase import SupabaseStore
from tests.services.postgres import PostgresServer, create_database
from tests.services.postgrest import ANON_KEY, MAX_ROWS, SUPABASE_URL, emulated_store

ROOT = Path(__file__).resolve().parents[2]
URL = "https://abcd1234.supabase.co"
KEY = "service-role-key-for-tests"
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
TICK = 600
SELECT = ("select", ",".join(METRIC_COLUMNS))
ASCENDING = ("order", "timestamp.asc,server_id.asc")

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and plays back answers in order.

    The last answer repeats once the others are used up.
    """

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [httpx.Response(200, json=[])]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def params(self, index: int = -1) -> list[tuple[str, str]]:
        return self.requests[index].url.params.multi_items()

    def body(self, index: int = -1) -> object:
        return json.loads(self.requests[index].content)


def make_store(*answers: Answer, **options: object) -> tuple[SupabaseStore, Recorder]:
    recorder = Recorder(*answers)
    client = httpx.Client(transport=httpx.MockTransport(recorder))
    return SupabaseStore(URL, KEY, http_client=client, **options), recorder  # type: ignore[arg-type]


def rows_json(rows: list[MetricRow]) -> list[dict[str, object]]:
    """Rows as PostgREST returns them (timestamptz rendered with +00:00)."""
    return [
        {**r.as_dict(), "timestamp": format_iso(r.timestamp).replace("Z", "+00:00")} for r in rows
    ]


def ok(rows: list[MetricRow]) -> httpx.Response:
    return httpx.Response(200, json=rows_json(rows))


def metric(tick: int, server_id: str, cpu: float = 12.5) -> MetricRow:
    return MetricRow(
        T0 + tick * TICK, server_id, cpu, 40.25, 55.5, 120, 1234.56, 987.65, 51, "healthy"
    )


def fleet_rows(ticks: int, servers: int = 20) -> list[MetricRow]:
    return [metric(t, f"srv-{s:02d}") for t in range(ticks) for s in range(servers)]


def incident() -> Incident:
    return Incident(
        id="2024-01-01-db_lock-db-01",
        pattern="db_lock",
        origin="db-01",
        start=T0 + TICK,
        end=T0 + 7 * TICK,
        intensity=0.75,
        affected=(AffectedServer("db-01", T0 + TICK), AffectedServer("api-01", T0 + 2 * TICK)),
    )


# -- the client -----------------------------------------------------------------------------


def test_building_the_store_sends_no_request() -> None:
    _, recorder = make_store()
    assert recorder.requests == []


def test_own_client_has_http2_off_and_explicit_timeouts() -> None:
    store = SupabaseStore(URL, KEY, timeout=5.0)
    client = store._http
    assert isinstance(client._transport, httpx.HTTPTransport)
    assert client._transport._pool._http2 is False
    assert client._transport._pool._http1 is True
    assert client.timeout == httpx.Timeout(5.0, connect=3.0)
    # the PostgREST client really uses it (supabase would otherwise build its own, HTTP/2)
    assert store._client.postgrest.session is client
    store.close()
    assert client.is_closed


def test_short_timeout_also_bounds_the_connect_timeout() -> None:
    store = SupabaseStore(URL, KEY, timeout=1.5)
    assert store._http.timeout == httpx.Timeout(1.5, connect=1.5)
    store.close()


def test_injected_client_carries_every_request_and_stays_open() -> None:
    deleted = httpx.Response(204, headers={"Content-Range": "*/0"})
    store, recorder = make_store(
        httpx.Response(200, json=[]),  # health
        httpx.Response(201),  # upsert metrics
        httpx.Response(201),  # upsert incidents
        httpx.Response(201),  # upsert templates
        httpx.Response(200, json=[]),  # query_metrics
        httpx.Response(200, json=[]),  # query_incidents
        httpx.Response(200, json=[]),  # latest
        httpx.Response(200, json=[]),  # last_tick
        deleted, deleted, deleted, deleted,  # delete_metrics, prune
    )
    store.health()
    store.upsert_metrics([metric(0, "web-01")])
    store.upsert_incidents([incident()])
    store.upsert_templates(get_fleet().servers[:2])
    store.query_metrics(MetricQuery())
    store.query_incidents(T0, T0 + 86_400)
    store.latest()
    store.last_tick()
    store.delete_metrics(T0, T0 + TICK)
    store.prune(T0)
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/rest/v1/daily_metrics"),
        ("POST", "/rest/v1/daily_metrics"),
        ("POST", "/rest/v1/scenario_execution_log"),
        ("POST", "/rest/v1/server_templates"),
        ("GET", "/rest/v1/daily_metrics"),
        ("GET", "/rest/v1/scenario_execution_log"),
        ("GET", "/rest/v1/daily_metrics"),
        ("GET", "/rest/v1/daily_metrics"),
        ("DELETE", "/rest/v1/daily_metrics"),
        ("DELETE", "/rest/v1/scenario_execution_log"),
        ("DELETE", "/rest/v1/daily_metrics"),
        ("DELETE", "/rest/v1/scenario_execution_log"),
    ]
    assert {r.url.host for r in recorder.requests} == {"abcd1234.supabase.co"}
    store.close()
    assert not store._http.is_closed


def test_every_request_carries_the_key_as_apikey_and_bearer_token() -> None:
    store, recorder = make_store(httpx.Response(200, json=[]), httpx.Response(201))
    store.health()
    store.upsert_metrics([metric(0, "web-01")])
    for request in recorder.requests:
        assert request.headers["apikey"] == KEY
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["accept-profile"] == "public"
        assert request.headers["content-profile"] == "public"
    assert recorder.requests[1].headers["content-type"] == "application/json"


def test_store_satisfies_the_protocol() -> None:
    store, _ = make_store()
    assert isinstance(store, MetricStore)
    assert store.name == "supabase"


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SUPABASE_URL"):
        SupabaseStore("abcd1234.supabase.co", KEY)
    with pytest.raises(ConfigError, match="SUPABASE_SERVICE_ROLE_KEY"):
        SupabaseStore(URL, "")


# -- reads ----------------------------------------------------------------------------------


def test_health_is_a_one_row_select_of_id() -> None:
    store, recorder = make_store(httpx.Response(200, json=[{"id": 1}]))
    store.health()
    assert recorder.requests[0].method == "GET"
    assert recorder.params() == [("select", "id"), ("limit", "1")]


def test_query_sends_every_filter_the_order_and_the_limit() -> None:
    store, recorder = make_store()
    store.query_metrics(
        MetricQuery(
            server_ids=("web-01", "db-01"),
            start=T0,
            end=T0 + 12 * 3600,
            statuses=("warning", "critical"),
            limit=100,
        )
    )
    assert recorder.params() == [
        SELECT,
        ("server_id", "in.(web-01,db-01)"),
        ("timestamp", "gte.2024-01-01T00:00:00Z"),
        ("timestamp", "lt.2024-01-01T12:00:00Z"),
        ("status", "in.(warning,critical)"),
        ASCENDING,
        ("limit", "100"),
    ]
    assert str(recorder.requests[0].url).startswith(f"{URL}/rest/v1/daily_metrics?select=")


def test_query_after_a_cursor_sends_the_keyset_or_filter() -> None:
    store, recorder = make_store()
    store.query_metrics(MetricQuery(limit=10, after=(T0 + TICK, "web-01")))
    assert recorder.params() == [
        SELECT,
        (
            "or",
            '(timestamp.gt."2024-01-01T00:10:00Z",'
            'and(timestamp.eq."2024-01-01T00:10:00Z",server_id.gt.web-01))',
        ),
        ASCENDING,
        ("limit", "10"),
    ]


def test_query_with_an_empty_filter_sends_nothing() -> None:
    store, recorder = make_store()
    assert store.query_metrics(MetricQuery(server_ids=())) == []
    assert store.query_metrics(MetricQuery(statuses=())) == []
    assert store.query_metrics(MetricQuery(limit=0)) == []
    assert recorder.requests == []


def test_query_parses_rows_as_postgrest_returns_them() -> None:
    body = [{
        "timestamp": "2024-01-01T00:10:00+00:00", "server_id": "web-01", "cpu": 12.34,
        "memory": 45.6, "disk": 100.00, "response_time": None, "network_rx": 1234.57,
        "network_tx": 0, "connections": 3, "status": "critical",
    }]
    store, _ = make_store(httpx.Response(200, json=body))
    assert store.query_metrics(MetricQuery()) == [
        MetricRow(T0 + TICK, "web-01", 12.34, 45.6, 100.0, None, 1234.57, 0.0, 3, "critical")
    ]


def test_2500_rows_come_back_complete_across_3_requests() -> None:
    rows = fleet_rows(125)  # 2,500 rows
    store, recorder = make_store(ok(rows[:1000]), ok(rows[1000:2000]), ok(rows[2000:]))
    assert store.query_metrics(MetricQuery(limit=10_000)) == rows
    assert len(recorder.requests) == 3
    assert [dict(recorder.params(i))["limit"] for i in range(3)] == ["1000", "1000", "1000"]
    assert "or" not in dict(recorder.params(0))
    # each page continues after the last row of the one before: rows 999 and 1999
    assert dict(recorder.params(1))["or"] == (
        '(timestamp.gt."2024-01-01T08:10:00Z",'
        'and(timestamp.eq."2024-01-01T08:10:00Z",server_id.gt.srv-19))'
    )
    assert dict(recorder.params(2))["or"] == (
        '(timestamp.gt."2024-01-01T16:30:00Z",'
        'and(timestamp.eq."2024-01-01T16:30:00Z",server_id.gt.srv-19))'
    )


def test_paging_stops_at_the_limit_without_an_extra_request() -> None:
    rows = fleet_rows(125)
    store, recorder = make_store(ok(rows[:1000]), ok(rows[1000:2000]), ok(rows[2000:2500]))
    assert store.query_metrics(MetricQuery(limit=2500)) == rows
    assert [dict(recorder.params(i))["limit"] for i in range(3)] == ["1000", "1000", "500"]


def test_query_incidents_sends_the_overlap_filters() -> None:
    record = incident()
    row = {
        "id": record.id, "pattern": "db_lock", "origin_server": "db-01",
        "affected_servers": [
            {"server_id": "db-01", "onset": "2024-01-01T00:10:00Z"},
            {"server_id": "api-01", "onset": "2024-01-01T00:20:00Z"},
        ],
        "intensity": 0.75, "started_at": "2024-01-01T00:10:00+00:00",
        "ended_at": "2024-01-01T01:10:00+00:00", "duration_seconds": 3600,
    }
    store, recorder = make_store(httpx.Response(200, json=[row]))
    assert store.query_incidents(T0, T0 + 86_400) == [record]
    assert recorder.params() == [
        ("select", "id,pattern,origin_server,affected_servers,intensity,started_at,ended_at,"
                   "duration_seconds"),
        ("started_at", "lt.2024-01-02T00:00:00Z"),
        ("ended_at", "gt.2024-01-01T00:00:00Z"),
        ("order", "started_at.asc,id.asc"),
        ("limit", "1000"),
    ]


def test_last_tick_asks_for_the_newest_timestamp_only() -> None:
    store, recorder = make_store(
        httpx.Response(200, json=[{"timestamp": "2024-01-01T00:10:00+00:00"}]),
        httpx.Response(200, json=[]),
    )
    assert store.last_tick() == T0 + TICK
    assert recorder.params() == [
        ("select", "timestamp"), ("order", "timestamp.desc"), ("limit", "1"),
    ]
    assert store.last_tick() is None


def test_latest_for_named_servers_is_one_request_when_they_share_a_tick() -> None:
    store, recorder = make_store(ok([metric(5, "api-01"), metric(5, "web-01")]))
    assert store.latest(["web-01", "api-01"]) == [metric(5, "api-01"), metric(5, "web-01")]
    assert recorder.params() == [
        SELECT,
        ("server_id", "in.(api-01,web-01)"),
        ("order", "timestamp.desc,server_id.asc"),
        ("limit", "2"),
    ]


def test_latest_asks_again_only_for_servers_not_found() -> None:
    store, recorder = make_store(
        ok([metric(9, "web-01"), metric(8, "web-01")]),  # web-01 written twice since db-01
        ok([metric(3, "db-01")]),
    )
    assert store.latest(["web-01", "db-01"]) == [metric(3, "db-01"), metric(9, "web-01")]
    assert dict(recorder.params(1))["server_id"] == "in.(db-01)"
    assert dict(recorder.params(1))["limit"] == "1"


def test_latest_of_every_server_excludes_found_ones_until_a_short_page() -> None:
    newest = fleet_rows(5)[::-1]  # 100 rows, newest tick first
    stale = metric(1, "old-01")
    store, recorder = make_store(ok(newest), ok([stale]))
    found = store.latest()
    assert found == sorted([*newest[:20], stale], key=lambda r: r.server_id)
    assert all(r.timestamp == T0 + 4 * TICK for r in found if r.server_id != "old-01")
    assert len(recorder.requests) == 2
    assert recorder.params(0) == [
        SELECT, ("order", "timestamp.desc,server_id.asc"), ("limit", "100"),
    ]
    excluded = ",".join(f"srv-{s:02d}" for s in range(20))
    assert recorder.params(1) == [
        SELECT,
        ("server_id", f"not.in.({excluded})"),
        ("order", "timestamp.desc,server_id.asc"),
        ("limit", "100"),
    ]


# -- writes ---------------------------------------------------------------------------------


def test_2880_rows_are_upserted_in_6_posts_of_at_most_500() -> None:
    rows = fleet_rows(144)  # one day of the default fleet
    store, recorder = make_store(httpx.Response(201))
    assert store.upsert_metrics(rows) == 2880
    assert len(recorder.requests) == 6
    sent: list[object] = []
    for index, request in enumerate(recorder.requests):
        assert request.method == "POST"
        assert request.url.path == "/rest/v1/daily_metrics"
        params = dict(recorder.params(index))
        assert params["on_conflict"] == "server_id,timestamp"
        assert set(params["columns"].split(",")) == {f'"{c}"' for c in METRIC_COLUMNS}
        assert request.headers["prefer"] == "return=minimal,resolution=merge-duplicates"
        body = recorder.body(index)
        assert isinstance(body, list)
        sent.extend(body)
    assert [len(recorder.body(i)) for i in range(6)] == [500, 500, 500, 500, 500, 380]  # type: ignore[arg-type]
    assert sent == [r.as_dict() for r in rows]


def test_upsert_sends_each_key_once_the_last_winning() -> None:
    store, recorder = make_store(httpx.Response(201))
    newer = metric(0, "web-01", cpu=99.5)
    assert store.upsert_metrics([metric(0, "web-01"), metric(0, "web-02"), newer]) == 2
    assert recorder.body() == [newer.as_dict(), metric(0, "web-02").as_dict()]


def test_upsert_of_nothing_sends_nothing() -> None:
    store, recorder = make_store()
    assert store.upsert_metrics([]) == 0
    assert store.upsert_incidents([]) == 0
    assert store.upsert_templates([]) == 0
    assert recorder.requests == []


def test_incidents_are_upserted_on_id_with_affected_servers_as_json() -> None:
    store, recorder = make_store(httpx.Response(201))
    assert store.upsert_incidents([incident()]) == 1
    assert dict(recorder.params())["on_conflict"] == "id"
    assert recorder.requests[0].headers["prefer"] == "return=minimal,resolution=merge-duplicates"
    assert recorder.body() == [{
        "id": "2024-01-01-db_lock-db-01",
        "pattern": "db_lock",
        "origin_server": "db-01",
        "affected_servers": [
            {"server_id": "db-01", "onset": "2024-01-01T00:10:00Z"},
            {"server_id": "api-01", "onset": "2024-01-01T00:20:00Z"},
        ],
        "intensity": 0.75,
        "started_at": "2024-01-01T00:10:00Z",
        "ended_at": "2024-01-01T01:10:00Z",
        "duration_seconds": 3600,
    }]


def test_templates_are_upserted_on_id_with_updated_at() -> None:
    store, recorder = make_store(httpx.Response(201))
    web = get_fleet().get("web-01")
    assert store.upsert_templates([web]) == 1
    assert recorder.requests[0].url.path == "/rest/v1/server_templates"
    assert dict(recorder.params())["on_conflict"] == "id"
    sent = recorder.body()
    assert isinstance(sent, list) and len(sent) == 1
    body = dict(sent[0])
    updated_at = body.pop("updated_at")
    assert body == {**web.as_dict(), "services": ["nginx", "node"]}
    assert updated_at.endswith("Z")


def test_delete_metrics_sends_the_window_and_reads_the_count() -> None:
    store, recorder = make_store(
        httpx.Response(204, headers={"Content-Range": "*/42"}),
        httpx.Response(204, headers={"Content-Range": "*/3"}),
    )
    assert store.delete_metrics(T0, T0 + 3600) == 42
    assert [r.method for r in recorder.requests] == ["DELETE", "DELETE"]
    assert recorder.requests[0].url.path == "/rest/v1/daily_metrics"
    assert recorder.params(0) == [
        ("timestamp", "gte.2024-01-01T00:00:00Z"), ("timestamp", "lt.2024-01-01T01:00:00Z"),
    ]
    assert recorder.requests[1].url.path == "/rest/v1/scenario_execution_log"
    assert recorder.params(1) == [
        ("started_at", "gte.2024-01-01T00:00:00Z"), ("started_at", "lt.2024-01-01T01:00:00Z"),
    ]
    for request in recorder.requests:
        assert request.headers["prefer"] == "return=minimal,count=exact"


def test_prune_deletes_older_rows_and_ended_incidents() -> None:
    store, recorder = make_store(
        httpx.Response(204, headers={"Content-Range": "*/2880"}),
        httpx.Response(204, headers={"Content-Range": "*/4"}),
    )
    assert store.prune(T0) == 2880
    assert recorder.params(0) == [("timestamp", "lt.2024-01-01T00:00:00Z")]
    assert recorder.requests[1].url.path == "/rest/v1/scenario_execution_log"
    assert recorder.params(1) == [("ended_at", "lt.2024-01-01T00:00:00Z")]


def test_delete_without_a_count_is_a_store_error() -> None:
    store, _ = make_store(httpx.Response(204, headers={"Content-Range": "*/*"}))
    with pytest.raises(StoreError, match="row count"):
        store.prune(T0)


# -- error translation ----------------------------------------------------------------------


def test_gateway_401_for_a_wrong_key_is_unavailable_and_says_so() -> None:
    body = {"message": "Invalid API key",
            "hint": "Double check your Supabase `anon` or `service_role` API key."}
    store, _ = make_store(httpx.Response(401, json=body))
    with pytest.raises(StoreUnavailable, match="Invalid API key") as caught:
        store.query_metrics(MetricQuery())
    assert "SUPABASE_URL and the key" in str(caught.value)
    assert type(caught.value.__cause__).__name__ == "APIError"


def test_postgrest_401_for_a_bad_jwt_is_unavailable_naming_credentials() -> None:
    body = {"code": "PGRST301", "details": None, "hint": None,
            "message": "JWSError JWSInvalidSignature"}
    store, _ = make_store(httpx.Response(401, json=body))
    with pytest.raises(StoreUnavailable, match=r"refused the credentials.*PGRST301"):
        store.last_tick()


def test_403_permission_denied_is_unavailable_naming_the_service_role_key() -> None:
    body = {"code": "42501", "details": None, "hint": None,
            "message": "permission denied for table daily_metrics"}
    store, _ = make_store(httpx.Response(403, json=body))
    with pytest.raises(StoreUnavailable, match="service-role key"):
        store.upsert_metrics([metric(0, "web-01")])


def test_500_with_a_non_json_body_is_unavailable_with_the_status() -> None:
    store, recorder = make_store(
        httpx.Response(500, text="<html>Internal Server Error</html>")
    )
    with pytest.raises(StoreUnavailable, match="unavailable while reading daily_metrics: 500"):
        store.query_metrics(MetricQuery())
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "refused the credentials"), (403, "refused the credentials"),
     (502, "unavailable"), (504, "unavailable"), (429, "unavailable")],
)
def test_non_json_error_pages_are_classified_by_status(status: int, expected: str) -> None:
    store, _ = make_store(httpx.Response(status, text="<html>proxy says no</html>"))
    with pytest.raises(StoreUnavailable, match=f"{expected}.*{status}"):
        store.last_tick()


def test_503_from_postgrest_is_unavailable_and_not_retried() -> None:
    body = {"code": "PGRST001", "details": "no connection to the server", "hint": None,
            "message": "Database client error. Retrying the connection."}
    store, recorder = make_store(httpx.Response(503, json=body))
    with pytest.raises(StoreUnavailable, match="PGRST001"):
        store.latest()
    # postgrest's own retry would sleep 1 + 2 + 4 s and send 4 requests
    assert len(recorder.requests) == 1


def test_statement_timeout_is_unavailable() -> None:
    body = {"code": "57014", "details": None, "hint": None,
            "message": "canceling statement due to statement timeout"}
    store, _ = make_store(httpx.Response(500, json=body))
    with pytest.raises(StoreUnavailable, match="57014"):
        store.query_metrics(MetricQuery())


def test_undefined_table_is_a_store_error_pointing_at_the_migrations() -> None:
    body = {"code": "42P01", "details": None, "hint": None,
            "message": 'relation "public.daily_metrics" does not exist'}
    store, _ = make_store(httpx.Response(404, json=body))
    expected = r"42P01.*daily_metrics.*apply the migrations in sql/"
    with pytest.raises(StoreError, match=expected) as caught:
        store.query_metrics(MetricQuery())
    assert not isinstance(caught.value, StoreUnavailable)


def test_health_reports_any_failure_as_unavailable() -> None:
    body = {"code": "PGRST205", "details": None, "hint": None,
            "message": "Could not find the table 'public.daily_metrics' in the schema cache"}
    store, _ = make_store(httpx.Response(404, json=body))
    with pytest.raises(StoreUnavailable, match="PGRST205"):
        store.health()


def test_constraint_violation_is_a_plain_store_error() -> None:
    body = {"code": "23514", "details": "Failing row contains (...).", "hint": None,
            "message": 'new row for relation "daily_metrics" violates check constraint '
                       '"daily_metrics_status_check"'}
    store, _ = make_store(httpx.Response(400, json=body))
    with pytest.raises(StoreError, match="rejected writing daily_metrics: 23514") as caught:
        store.upsert_metrics([metric(0, "web-01")])
    assert not isinstance(caught.value, StoreUnavailable)


def test_connect_error_is_unavailable_and_not_retried() -> None:
    store, recorder = make_store(httpx.ConnectError("[Errno 111] Connection refused"))
    expected = r"cannot reach Supabase.*Connection refused"
    with pytest.raises(StoreUnavailable, match=expected) as caught:
        store.health()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(recorder.requests) == 1


def test_read_timeout_is_unavailable() -> None:
    store, _ = make_store(httpx.ReadTimeout("timed out"))
    with pytest.raises(StoreUnavailable, match=r"did not answer in time.*ReadTimeout") as caught:
        store.query_metrics(MetricQuery())
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_write_timeout_during_an_upsert_is_unavailable() -> None:
    store, _ = make_store(httpx.WriteTimeout("timed out"))
    with pytest.raises(StoreUnavailable, match="writing daily_metrics"):
        store.upsert_metrics([metric(0, "web-01")])


def test_an_answer_that_is_not_a_row_list_is_a_store_error() -> None:
    store, _ = make_store(httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(StoreError, match="not a row list"):
        store.query_metrics(MetricQuery())


def test_a_malformed_row_is_a_store_error() -> None:
    store, _ = make_store(httpx.Response(200, json=[{"timestamp": "yesterday"}]))
    with pytest.raises(StoreError, match="daily_metrics"):
        store.query_metrics(MetricQuery())


# -- imports --------------------------------------------------------------------------------


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_config_and_models_do_not_import_supabase() -> None:
    loaded = _modules_after("import lib.core, lib.store.base")
    assert not {"supabase", "postgrest", "httpx"} & loaded


def test_importing_the_supabase_store_imports_supabase() -> None:
    assert {"supabase", "postgrest"} <= _modules_after("import lib.store.supabase")


# -- against the emulator and the real PostgreSQL -------------------------------------------


def test_emulated_day_is_written_in_6_posts_and_read_in_3_pages(clean_postgres_dsn: str) -> None:
    store, emulator = emulated_store(clean_postgres_dsn)
    rows = fleet_rows(144)
    assert store.upsert_metrics(rows) == 2880
    assert [r.method for r in emulator.requests] == ["POST"] * 6
    emulator.requests.clear()
    assert store.query_metrics(MetricQuery(limit=10_000)) == rows
    assert len(emulator.requests) == 3
    with psycopg.connect(clean_postgres_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM daily_metrics").fetchone() == (2880,)


def test_emulated_2500_rows_come_back_complete(clean_postgres_dsn: str) -> None:
    store, emulator = emulated_store(clean_postgres_dsn)
    rows = fleet_rows(125)
    store.upsert_metrics(rows)
    emulator.requests.clear()
    assert store.query_metrics(MetricQuery(limit=5000)) == rows
    assert [dict(r.url.params)["limit"] for r in emulator.requests] == ["1000"] * 3


def test_emulator_caps_every_page_at_max_rows(clean_postgres_dsn: str) -> None:
    store, emulator = emulated_store(clean_postgres_dsn)
    store.upsert_metrics(fleet_rows(60))  # 1,200 rows
    with emulator.client() as client:
        response = client.get(
            f"{SUPABASE_URL}/rest/v1/daily_metrics",
            params={"select": "id", "limit": "5000"},
            headers={"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}",
                     "Prefer": "count=exact"},
        )
    assert response.status_code == 206
    assert len(response.json()) == MAX_ROWS
    assert response.headers["content-range"] == "0-999/1200"


def test_emulated_latest_takes_two_requests_for_the_whole_fleet(clean_postgres_dsn: str) -> None:
    store, emulator = emulated_store(clean_postgres_dsn)
    rows = fleet_rows(12)
    store.upsert_metrics(rows)
    emulator.requests.clear()
    assert store.latest() == rows[-20:]
    assert len(emulator.requests) == 2
    emulator.requests.clear()
    assert store.latest(["srv-03", "srv-11"]) == [rows[-17], rows[-9]]
    assert len(emulator.requests) == 1


def test_emulated_rows_keep_their_values(clean_postgres_dsn: str) -> None:
    store, _ = emulated_store(clean_postgres_dsn)
    row = MetricRow(T0, "web-01", 99.999, 0.5, 12.345, None, 1234.567, 0.0, 0, "critical")
    store.upsert_metrics([row])
    (stored,) = store.query_metrics(MetricQuery())
    assert (stored.cpu, stored.disk, stored.network_rx, stored.response_time) == (
        100.0, 12.35, 1234.57, None,
    )


def test_anon_key_can_read_but_not_write(clean_postgres_dsn: str) -> None:
    store, _ = emulated_store(clean_postgres_dsn, key=ANON_KEY)
    assert store.query_metrics(MetricQuery()) == []
    with pytest.raises(StoreUnavailable, match=r"42501.*permission denied.*service-role key"):
        store.upsert_metrics([metric(0, "web-01")])
    with pytest.raises(StoreUnavailable, match="42501"):
        store.prune(T0)


def test_unknown_key_is_refused_by_the_emulated_gateway(postgres_dsn: str) -> None:
    _, emulator = emulated_store(postgres_dsn)
    store = SupabaseStore(SUPABASE_URL, "wrong-key", http_client=emulator.client())
    with pytest.raises(StoreUnavailable, match="Invalid API key"):
        store.health()
    assert emulator.requests[-1].headers["apikey"] == "wrong-key"


def test_database_without_the_schema_is_a_store_error(postgres_server: PostgresServer) -> None:
    dsn = create_database(postgres_server, "fleet_supabase_no_schema")
    store, _ = emulated_store(dsn)
    with pytest.raises(StoreError, match=r"PGRST205.*sql/") as caught:
        store.query_metrics(MetricQuery())
    assert not isinstance(caught.value, StoreUnavailable)
    with pytest.raises(StoreUnavailable, match="PGRST205"):
        store.health()


def test_emulator_answers_a_bad_filter_with_a_postgrest_error_body(postgres_dsn: str) -> None:
    _, emulator = emulated_store(postgres_dsn)
    with emulator.client() as client:
        response = client.get(
            f"{SUPABASE_URL}/rest/v1/daily_metrics",
            params={"cpu": "zz.1"},
            headers={"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"},
        )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"}
    assert body["code"] == "PGRST100"


def test_emulator_refuses_an_unfiltered_delete(postgres_dsn: str) -> None:
    _, emulator = emulated_store(postgres_dsn)
    with emulator.client() as client:
        response = client.delete(
            f"{SUPABASE_URL}/rest/v1/daily_metrics",
            headers={"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"},
        )
    assert response.status_code == 400
    assert response.json()["message"] == "DELETE requires a WHERE clause"


def test_emulator_honours_range_headers_logic_trees_and_head(clean_postgres_dsn: str) -> None:
    store, emulator = emulated_store(clean_postgres_dsn)
    rows = fleet_rows(3, servers=10)
    rows[4] = MetricRow(T0, "srv-04", 1.0, 2.0, 3.0, None, 4.0, 5.0, 6, "warning")
    store.upsert_metrics(rows)
    headers = {"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"}
    url = f"{SUPABASE_URL}/rest/v1/daily_metrics"
    with emulator.client() as client:
        ranged = client.get(
            url, params={"select": "server_id", "order": "timestamp.asc,server_id.asc",
                         "offset": "5"},
            headers={**headers, "Range-Unit": "items", "Range": "10-14"},
        )
        tree = client.get(
            url, params={"select": "server_id,timestamp",
                         "or": "(response_time.is.null,and(timestamp.eq.\"2024-01-01T00:20:00Z\","
                               "server_id.in.(srv-01,\"srv-02\")))",
                         "order": "server_id.desc"},
            headers=headers,
        )
        head = client.head(url, params={"select": "id"}, headers={**headers,
                                                                  "Prefer": "count=exact"})
    assert ranged.headers["content-range"] == "10-14/*"
    assert [r["server_id"] for r in ranged.json()] == ["srv-00", "srv-01", "srv-02", "srv-03",
                                                        "srv-04"]
    assert tree.json() == [
        {"server_id": "srv-04", "timestamp": "2024-01-01T00:00:00+00:00"},
        {"server_id": "srv-02", "timestamp": "2024-01-01T00:20:00+00:00"},
        {"server_id": "srv-01", "timestamp": "2024-01-01T00:20:00+00:00"},
    ]
    assert head.status_code == 200  # the whole table fits in one page
    assert head.content == b""
    assert head.headers["content-range"] == "0-29/30"

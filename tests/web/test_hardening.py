"""Hostile requests, leaked internals and a database that stops answering.

The corpus holds every request of the hardening review (and the fuzzers' old 5xx finds). It
runs against the SQLite and the PostgreSQL store: no 5xx but a documented 503, no answer
slower than 5 s, no body or header with a stack trace, SQL, a host:port or a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from lib.app import store_window
from lib.collectors import DummyCollector
from lib.store.postgres import PostgresStore
from tests.apiclient import DAY0, NOW, Api
from tests.services.postgres import running_postgres
from tests.services.processes import free_port

SECRET_PASSWORD = "Sup3r%zzSecret"  # the review's password: an invalid percent-escape too
CRON_SECRET = "corpus-cron-secret"
SECRETS = (SECRET_PASSWORD, "Sup3r", "zzSecret", CRON_SECRET)
DOCUMENTED_503 = {"store_unavailable", "source_unavailable", "misconfigured"}
LEAKS = [
    re.compile(r"Traceback|File \"", re.I),
    re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE)\b.*\b(FROM|INTO|SET)\b", re.I),
    re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}:\d+|localhost:\d+|port \d+", re.I),
    re.compile(r"psycopg|sqlite3|postgrest|OperationalError", re.I),
]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def call(app: FastAPI, method: str, target: str, headers: dict[str, str] | None = None
         ) -> Answer:
    """One request straight through ASGI: URLs far past what HTTP clients send are fine."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
                   + [(b"host", b"testserver")],
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    began = time.monotonic()
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent  # type: ignore[misc]
                    if m["type"] == "http.response.body")
    raw_headers = start["headers"]
    assert isinstance(raw_headers, list)
    return Answer(int(start["status"]),  # type: ignore[call-overload]
                  {k.decode(): v.decode() for k, v in raw_headers}, body,
                  time.monotonic() - began)


def assert_safe(answer: Answer, request: str) -> None:
    """The corpus' invariants for any answer."""
    assert answer.seconds < 5, request
    text = answer.body.decode("utf-8", "replace") + "\n".join(answer.headers.values())
    if answer.status >= 500:
        assert answer.status == 503, f"{request} -> {answer.status} {text[:300]}"
        assert answer.headers["content-type"] == "application/json"
    for pattern in LEAKS:
        assert not pattern.search(text), f"{request} leaks {pattern.pattern}: {text[:300]}"
    for secret in SECRETS:
        assert secret not in text, f"{request} leaks a secret"


HUGE_IDS = ",".join(str(i) for i in range(20_000))  # 108 KB
HUGE_SERVER = "x" * 100_000
MANY_IDS = ",".join(f"web-{i:02d}" for i in range(150))  # 150 well-formed ids, 1 KB
LONG_SERVER = "x" * 10_000
GET_PATHS = ["/api/metrics/daily", "/api/monitoring/servers",
             "/api/monitoring/performance?serverId=web-01", "/api/status",
             "/api/prometheus?at=2024-01-02T10:00:00Z"]

# (method, target, status, error code or None)
CORPUS: list[tuple[str, str, int, str | None]] = [
    # A: a window of 300 years at 30 s is refused by arithmetic, before any work
    ("GET", "/api/monitoring/performance?serverId=web-01&from=1900-01-01&to=2199-12-31&step=30",
     422, "invalid_range"),
    ("GET", "/api/monitoring/performance?serverId=web-01&from=1900-01-01&to=2199-12-31"
     "&step=86400", 422, "invalid_range"),
    # and so is more than a quarter at any step (each day's schedule is work)
    ("GET", "/api/monitoring/performance?serverId=web-01&from=2020-01-01T00:00:00Z"
     "&to=2025-06-22T00:00:00Z&step=86400", 422, "invalid_range"),
    # E: past 16 KB a query string is refused before it is parsed
    ("GET", f"/api/metrics/daily?server_id={HUGE_IDS}", 414, "uri_too_long"),
    ("GET", "/api/metrics/daily?" + "&".join(["status=critical"] * 14_000), 414,
     "uri_too_long"),
    ("GET", "/api/metrics/daily?status=" + ",".join(["critical"] * 14_000), 414,
     "uri_too_long"),
    ("GET", f"/api/monitoring/servers?serverId={HUGE_SERVER}", 414, "uri_too_long"),
    ("GET", f"/api/monitoring/performance?serverId={HUGE_SERVER}", 414, "uri_too_long"),
    ("GET", f"/api/metrics/daily?cursor={HUGE_SERVER}", 414, "uri_too_long"),
    # E: under it, lists are capped at what a fleet can have, long values cut when echoed
    ("GET", f"/api/metrics/daily?server_id={MANY_IDS}", 400, "invalid_parameter"),
    ("GET", "/api/metrics/daily?" + "&".join(["status=critical"] * 900), 400,
     "invalid_parameter"),
    ("GET", "/api/metrics/daily?status=" + ",".join(["critical"] * 1_500), 400,
     "invalid_parameter"),
    ("GET", f"/api/monitoring/servers?serverId={LONG_SERVER}", 400, "invalid_parameter"),
    ("GET", f"/api/monitoring/performance?serverId={LONG_SERVER}", 400, "invalid_parameter"),
    ("GET", f"/api/metrics/daily?server_id={LONG_SERVER}", 400, "invalid_parameter"),
    ("GET", f"/api/metrics/daily?cursor={LONG_SERVER}", 400, "invalid_parameter"),
    # F: cursors are validated exactly, on every store
    ("GET", "/api/metrics/daily?cursor=MTc5NTM5MjAwMHx3ZWItMDEA", 400, "invalid_parameter"),
    ("GET", "/api/metrics/daily?cursor=1_700_000_000~web-01", 400, "invalid_parameter"),
    ("GET", "/api/metrics/daily?cursor=%D9%A1%D9%A7%D9%A0~web-01", 400, "invalid_parameter"),
    ("GET", "/api/metrics/daily?cursor=%202024-01-01T00:10:00Z~web-01", 400,
     "invalid_parameter"),
    ("GET", "/api/metrics/daily?cursor=2024-01-01T00:10:00Z~web-01%00", 400,
     "invalid_parameter"),
    ("GET", "/api/metrics/daily?server_id=web-01%00", 400, "invalid_parameter"),
    # I: before 1900 nothing is served
    ("GET", "/api/monitoring/performance?serverId=web-01&to=1900-01-01T00:00:00Z", 200, None),
    # J: what the schema says is invalid is rejected, and the reverse
    ("GET", "/api/metrics/daily?end_time=", 400, "invalid_parameter"),
    ("GET", "/api/monitoring/servers?at=", 400, "invalid_parameter"),
    ("GET", "/api/prometheus?at=", 400, "invalid_parameter"),
    ("OPTIONS", "/api/generate-batch", 204, None),
    ("TRACE", "/api/generate-batch", 405, "method_not_allowed"),
    # C: writes need the token
    ("POST", "/api/generate-batch", 401, "unauthorized"),
    ("GET", "/api/generate-batch?date=2024-01-02", 401, "unauthorized"),
    # the fuzzers' old 5xx finds
    ("GET", "/api/monitoring/servers?at=0001-01-01T00:00:00Z", 400, "invalid_parameter"),
    ("GET", "/api/prometheus?at=9999-12-31T23:59:59Z", 400, "invalid_parameter"),
    ("GET", "/api/metrics/daily?cursor=MTAwMDAwMDAwMDAwMDAwMDAwMDAwfHdlYi0wMQ", 400,
     "invalid_parameter"),
    # plain requests, for the leak checks on their answers
    ("GET", "/api/metrics/daily?limit=1", 200, None),
    ("GET", "/api/status", 200, None),
    *[("HEAD", path, 200, None) for path in GET_PATHS],
]


@pytest.fixture(params=["sqlite", "postgres"])
def corpus_api(request: pytest.FixtureRequest, api: Api) -> Iterator[Api]:
    """The API with a cron secret, on SQLite or on a real PostgreSQL holding the same rows."""
    api.use(settings=api.settings.model_copy(update={"cron_secret": CRON_SECRET}))
    if request.param == "postgres":
        dsn = request.getfixturevalue("clean_postgres_dsn")
        # trust authentication ignores the password; it is there to be kept out of answers
        store = PostgresStore(dsn.replace("fleet@", "fleet:Sup3r%25zzSecret@"), timeout=5)
        store_window(api.collector, store, DAY0, NOW - NOW % 600 + 600)
        api.use(store=store)
        yield api
        store.close()
    else:
        yield api


@pytest.mark.parametrize(("method", "target", "status", "code"), CORPUS,
                         ids=[f"{m} {t[:70]}" for m, t, _, _ in CORPUS])
def test_corpus_request_answers_as_documented_and_leaks_nothing(
    corpus_api: Api, method: str, target: str, status: int, code: str | None
) -> None:
    answer = call(corpus_api.app, method, target)
    assert_safe(answer, f"{method} {target[:80]}")
    assert answer.status == status, answer.body[:300]
    if code is not None:
        import orjson

        error = orjson.loads(answer.body)["error"]
        assert error["code"] == code
        assert len(error["message"]) < 300  # an echoed value is cut short


def test_head_answers_like_get_without_a_body(api: Api) -> None:
    for path in GET_PATHS:
        get, head = call(api.app, "GET", path), call(api.app, "HEAD", path)
        assert head.status == get.status == 200, path
        assert head.body == b"" and get.body
        assert head.headers.get("etag") == get.headers.get("etag")
        assert head.headers["content-length"] == get.headers["content-length"]


def test_unsupported_methods_list_every_supported_one(api: Api) -> None:
    answer = call(api.app, "PUT", "/api/generate-batch")
    assert answer.status == 405 and answer.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    answer = call(api.app, "DELETE", "/api/monitoring/servers")
    assert answer.status == 405 and answer.headers["allow"] == "GET, HEAD, OPTIONS"
    options = call(api.app, "OPTIONS", "/api/metrics/daily")
    assert options.status == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"


def test_performance_before_1900_serves_no_point(api: Api) -> None:
    import orjson

    answer = call(api.app, "GET",
                  "/api/monitoring/performance?serverId=web-01&to=1900-01-01T00:00:00Z")
    body = orjson.loads(answer.body)
    assert body["from"] == body["to"] == "1900-01-01T00:00:00Z" and body["metrics"] == []


def test_long_value_is_cut_in_the_error_message(api: Api) -> None:
    import orjson

    answer = call(api.app, "GET", f"/api/monitoring/servers?serverId={LONG_SERVER}")
    message = orjson.loads(answer.body)["error"]["message"]
    assert "xxxx" in message and "(10000 characters)" in message and len(message) < 200


# --- B: outages say what failed, never how ---------------------------------------------------


@pytest.mark.parametrize("dsn", [
    f"postgresql://postgres:{SECRET_PASSWORD}@127.0.0.1:{{port}}/fleet",  # malformed escape
    "postgresql://postgres:Sup3rzzSecret@127.0.0.1:{port}/fleet",  # nothing listens there
])
def test_a_broken_store_answers_a_generic_503_and_logs_the_cause_redacted(
    api: Api, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    store = PostgresStore(dsn.format(port=port), timeout=2)
    settings = api.settings.model_copy(update={
        "postgres_url": dsn.format(port=port), "cron_secret": CRON_SECRET})
    api.use(store=store, settings=settings)
    with caplog.at_level(logging.WARNING):
        daily = call(api.app, "GET", "/api/metrics/daily")
        status = call(api.app, "GET", "/api/status")
    for answer in (daily, status):
        assert_safe(answer, "outage")
        assert str(port) not in answer.body.decode()
    assert daily.status == 503
    import orjson

    assert orjson.loads(daily.body)["error"] == {
        "code": "store_unavailable", "message": "the metrics store is unavailable"}
    report = orjson.loads(status.body)
    assert report["store"] == {"backend": "postgres", "ok": False,
                               "error": "the metrics store is unavailable", "last_tick": None}
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "lib.web.errors")
    assert "store failed" in logged
    assert "zzSecret" not in logged and "Sup3r" not in logged
    if "%zz" in dsn:  # libpq quoted the password: the log shows where it was masked
        assert "***" in logged


# --- D: a database that stops answering --------------------------------------------------------


class FrozenPostgres:
    """A PostgreSQL whose postmaster and backends a test can stop (SIGSTOP) and continue."""

    def __init__(self, root: Path) -> None:
        self.postmaster = int((root / "data" / "postmaster.pid").read_text().split()[0])
        self.stopped: list[int] = []

    def processes(self) -> list[int]:
        children = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children")
        return [self.postmaster, *map(int, children.read_text().split())]

    def stop(self) -> None:
        self.stopped = self.processes()
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, number: signal.Signals) -> None:
        for pid in self.stopped:
            # a backend whose connection was shut down has exited
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)


@pytest.fixture
def frozen_postgres(api: Api) -> Iterator[tuple[Api, FrozenPostgres]]:
    """The API on its own PostgreSQL (2 s store timeout), whose processes the test stops."""
    with running_postgres() as server:
        store = PostgresStore(server.dsn(), timeout=2)
        store_window(DummyCollector(api.sim), store, DAY0, DAY0 + 86_400)
        api.use(store=store,
                settings=api.settings.model_copy(update={"store_timeout_seconds": 2}))
        frozen = FrozenPostgres(server.root)
        try:
            yield api, frozen
        finally:
            frozen.resume()
            store.close()


def test_stopped_database_gives_503_in_time_and_status_answers_in_two_seconds(
    frozen_postgres: tuple[Api, FrozenPostgres]
) -> None:
    api, database = frozen_postgres
    assert call(api.app, "GET", "/api/metrics/daily?limit=1").status == 200  # connected
    database.stop()
    answers: list[Answer] = []
    threads = [threading.Thread(target=lambda: answers.append(
        call(api.app, "GET", "/api/metrics/daily?limit=1"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    status = call(api.app, "GET", "/api/status")
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status for a in answers] == [503, 503, 503]
    assert max(a.seconds for a in answers) < 2 + 1  # STORE_TIMEOUT_SECONDS + 1 s
    assert status.status == 200 and status.seconds < 2
    import orjson

    report = orjson.loads(status.body)
    assert report["store"]["ok"] is False and report["collector"]["ok"] is True
    database.resume()
    recovered = call(api.app, "GET", "/api/metrics/daily?limit=1")
    assert recovered.status == 200 and orjson.loads(recovered.body)["count"] == 1

"""/api/generate-batch: authentication, idempotency, pruning and the cache refresh."""

from __future__ import annotations

import pytest

from lib.app.live import snapshot_key
from lib.cache import MemoryCache
from lib.store import MetricQuery
from lib.web import combined_app, deps
from tests.apiclient import NOW, Api

DAY = 86_400


def contents(api: Api) -> list[object]:
    return list(api.store.query_metrics(MetricQuery(limit=100_000)))


@pytest.fixture
def protected(api: Api) -> Api:
    api.use(settings=api.settings.model_copy(update={"cron_secret": "s3cret"}))
    return api


@pytest.mark.parametrize("header", [None, "Bearer wrong", "s3cret", "Bearer s3cret2", "Basic x"])
def test_cron_refuses_missing_or_wrong_tokens(protected: Api, header: str | None) -> None:
    before = contents(protected)
    headers = {"Authorization": header} if header is not None else {}
    response = protected.client.get("/api/generate-batch", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert contents(protected) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cron_with_the_right_token_is_idempotent(protected: Api, method: str) -> None:
    auth = {"Authorization": "Bearer s3cret"}
    first = protected.client.request(method, "/api/generate-batch", headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["window"] == {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T10:10:00Z"}
    assert body["rows"] == (144 + 61) * 20 and body["pruned"] == 0 and body["cached"] == 20
    assert body["incidents"] == len(protected.sim.incidents(NOW - NOW % DAY - DAY, NOW + 600))
    assert first.headers["cache-control"] == "no-store" and "etag" not in first.headers
    after_first = contents(protected)
    second = protected.client.request(method, "/api/generate-batch", headers=auth)
    assert second.status_code == 200 and second.json()["rows"] == body["rows"]
    assert contents(protected) == after_first


def test_cron_writes_a_requested_day_and_refreshes_the_cache(protected: Api) -> None:
    hot = MemoryCache()
    protected.use(hot=hot)
    protected.store.delete_metrics(NOW - NOW % DAY, NOW + DAY)
    response = protected.client.get("/api/generate-batch?date=2024-01-02",
                                    headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    assert response.json()["window"] == {"start": "2024-01-02T00:00:00Z",
                                         "end": "2024-01-02T10:10:00Z"}  # stops at now
    stored = protected.store.query_metrics(MetricQuery(start=NOW - NOW % DAY, limit=10_000))
    assert len(stored) == 61 * 20
    assert stored == list(protected.sim.frame(NOW - NOW % DAY, NOW - NOW % 600 + 600).rows())
    tick = NOW - NOW % 30
    assert hot.get(snapshot_key(protected.collector, tick)) is not None


def test_cron_prunes_past_retention(protected: Api) -> None:
    protected.use(settings=protected.settings.model_copy(update={"retention_hours": 24}))
    before = protected.store.query_metrics(MetricQuery(end=NOW - 24 * 3600, limit=10_000))
    response = protected.client.get("/api/generate-batch?start=2024-01-02T00:00:00Z"
                                    "&end=2024-01-02T01:00:00Z",
                                    headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200 and response.json()["pruned"] == len(before) > 0
    assert protected.store.query_metrics(MetricQuery(end=NOW - 24 * 3600, limit=10)) == []


def test_cron_refuses_windows_the_retention_would_prune(protected: Api) -> None:
    response = protected.client.get("/api/generate-batch?date=2023-06-01",
                                    headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 422 and response.json()["error"]["parameter"] == "date"


def test_cron_refuses_future_windows(protected: Api) -> None:
    before = contents(protected)
    response = protected.client.get("/api/generate-batch?date=2024-01-03",
                                    headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 422
    assert response.json()["error"]["parameter"] == "date"
    assert contents(protected) == before


def test_cron_is_open_on_the_local_server_without_a_secret(api: Api) -> None:
    api.app.dependency_overrides[deps.provide_local] = lambda: True
    assert api.client.post("/api/generate-batch?date=2024-01-02").status_code == 200


def test_local_server_app_opens_the_batch_and_the_deployed_apps_do_not() -> None:
    assert combined_app(local=True).dependency_overrides[deps.provide_local]() is True
    assert deps.provide_local not in combined_app().dependency_overrides
    assert deps.provide_local() is False


@pytest.mark.parametrize("vercel", [None, "1"])
def test_cron_without_a_secret_refuses_everywhere(api: Api, vercel: str | None) -> None:
    # AWS Lambda (lambda_handler), a container, Vercel: no secret, no batch.
    api.use(settings=api.settings.model_copy(update={"vercel": vercel, "cron_secret": None}))
    before = contents(api)
    for method in ("GET", "POST"):
        response = api.client.request(method, "/api/generate-batch")
        assert response.status_code == 503
        assert response.json()["error"] == {"code": "misconfigured",
                                             "message": "server misconfigured: CRON_SECRET"}
    assert contents(api) == before


def test_cron_without_a_secret_refuses_on_vercel(api: Api) -> None:
    api.use(settings=api.settings.model_copy(update={"vercel": "1", "cron_secret": None}))
    before = contents(api)
    response = api.client.get("/api/generate-batch")
    assert response.status_code == 503
    assert response.json()["error"] == {"code": "misconfigured",
                                         "message": "server misconfigured: CRON_SECRET"}
    assert contents(api) == before


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [("date=2024-1-2", 400, "date"), ("date=2024-01-02&start=2024-01-02", 422, "date"),
     ("start=2024-01-02T00:00:00Z", 422, "end"),
     ("start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z", 422, "end"),
     ("start=2024-01-01T00:00:00Z&end=2024-01-20T00:00:00Z", 422, "end"),
     ("date=2024-01-02&start=nope", 400, "start")],
)
def test_cron_bad_windows(protected: Api, query: str, status: int, parameter: str) -> None:
    response = protected.client.get(f"/api/generate-batch?{query}",
                                    headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == status
    assert response.json()["error"]["parameter"] == parameter

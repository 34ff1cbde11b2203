"""Bad input gets the documented 4xx and the one JSON error shape — never a 5xx."""

from __future__ import annotations

import pytest

from tests.apiclient import Api

CASES = [
    # (url, status, code, parameter)
    ("/api/metrics/daily?server_id=web-99", 404, "unknown_server", "server_id"),
    ("/api/metrics/daily?server_id=web-01,nope", 404, "unknown_server", "server_id"),
    ("/api/metrics/daily?start_time=yesterday", 400, "invalid_parameter", "start_time"),
    ("/api/metrics/daily?end_time=2024-02-30T00:00:00Z", 400, "invalid_parameter", "end_time"),
    ("/api/metrics/daily?start_time=2024-01-02&end_time=2024-01-01", 422, "invalid_range",
     "end_time"),
    ("/api/metrics/daily?status=down", 400, "invalid_parameter", "status"),
    ("/api/metrics/daily?limit=0", 400, "invalid_parameter", "limit"),
    ("/api/metrics/daily?limit=5001", 400, "invalid_parameter", "limit"),
    ("/api/metrics/daily?limit=ten", 400, "invalid_parameter", "limit"),
    ("/api/metrics/daily?cursor=%%%", 400, "invalid_parameter", "cursor"),
    ("/api/metrics/daily?cursor=bm90LWEtY3Vyc29y", 400, "invalid_parameter", "cursor"),
    ("/api/metrics/daily?cursor=MTAwMDAwMDAwMDAwMDAwMDAwMDAwfHdlYi0wMQ", 400,
     "invalid_parameter", "cursor"),
    # a client's mistake, never an outage: 400 on every store (a NUL byte reached PostgreSQL)
    ("/api/metrics/daily?cursor=MTc5NTM5MjAwMHx3ZWItMDEA", 400, "invalid_parameter",
     "cursor"),
    ("/api/metrics/daily?cursor=2024-01-01T00:10:00Z~web-01%00", 400, "invalid_parameter",
     "cursor"),
    ("/api/metrics/daily?cursor=1_700_000_000~web-01", 400, "invalid_parameter", "cursor"),
    ("/api/metrics/daily?cursor=%D9%A1%D9%A2~web-01", 400, "invalid_parameter", "cursor"),
    ("/api/metrics/daily?cursor=%202024-01-01T00:10:00Z~web-01%20", 400, "invalid_parameter",
     "cursor"),
    ("/api/metrics/daily?cursor=2024-02-30T00:10:00Z~web-01", 400, "invalid_parameter",
     "cursor"),
    ("/api/metrics/daily?server_id=web-01%00", 400, "invalid_parameter", "server_id"),
    ("/api/metrics/daily?server_id=web-01,,web-02", 400, "invalid_parameter", "server_id"),
    ("/api/metrics/daily?server_id=", 400, "invalid_parameter", "server_id"),
    ("/api/metrics/daily?status=", 400, "invalid_parameter", "status"),
    ("/api/metrics/daily?status=critical,critical,critical,critical", 400,
     "invalid_parameter", "status"),
    ("/api/metrics/daily?start_time=2024-01-01T00:00:00", 400, "invalid_parameter",
     "start_time"),
    ("/api/metrics/daily?end_time=", 400, "invalid_parameter", "end_time"),
    ("/api/monitoring/servers?at=", 400, "invalid_parameter", "at"),
    ("/api/monitoring/servers?at=2024-01-01T24:00:00Z", 400, "invalid_parameter", "at"),
    ("/api/monitoring/servers?at=2024-01-01T00:00:60Z", 400, "invalid_parameter", "at"),
    ("/api/prometheus?at=", 400, "invalid_parameter", "at"),
    ("/api/monitoring/servers?at=0001-01-01T00:00:00Z", 400, "invalid_parameter", "at"),
    ("/api/monitoring/performance?serverId=web-01&from=9999-12-31T23:00:00Z"
     "&to=9999-12-31T23:59:59Z", 400, "invalid_parameter", "from"),
    ("/api/monitoring/servers?serverId=db-09", 404, "unknown_server", "serverId"),
    ("/api/monitoring/servers?at=noon", 400, "invalid_parameter", "at"),
    ("/api/monitoring/servers?at=2030-01-01T00:00:00Z", 422, "invalid_range", "at"),
    ("/api/monitoring/performance", 400, "missing_parameter", "serverId"),
    ("/api/monitoring/performance?serverId=x", 404, "unknown_server", "serverId"),
    ("/api/monitoring/performance?serverId=web-01&metric=gpu", 400, "invalid_parameter",
     "metric"),
    ("/api/monitoring/performance?serverId=web-01&from=soon", 400, "invalid_parameter", "from"),
    ("/api/monitoring/performance?serverId=web-01&to=2024-13-01", 400, "invalid_parameter", "to"),
    ("/api/monitoring/performance?serverId=web-01&from=2024-01-02&to=2024-01-01", 422,
     "invalid_range", "to"),
    ("/api/monitoring/performance?serverId=web-01&step=10", 400, "invalid_parameter", "step"),
    ("/api/monitoring/performance?serverId=web-01&step=abc", 400, "invalid_parameter", "step"),
    ("/api/monitoring/performance?serverId=web-01&step=30&from=2024-01-01&to=2024-01-02", 422,
     "invalid_range", "step"),
]


@pytest.mark.parametrize(("url", "status", "code", "parameter"), CASES)
def test_bad_parameters(api: Api, url: str, status: int, code: str, parameter: str) -> None:
    response = api.client.get(url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["parameter"] == parameter
    assert isinstance(error["message"], str) and error["message"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


def test_method_not_allowed_is_json(api: Api) -> None:
    response = api.client.post("/api/metrics/daily")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_trailing_slash_is_not_redirected(api: Api) -> None:
    response = api.client.get("/api/generate-batch/", follow_redirects=False)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"

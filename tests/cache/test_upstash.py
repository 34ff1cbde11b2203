"""UpstashCache at the HTTP boundary: the exact requests it sends, and how it fails.

Requests go to the local Upstash REST shim (tests/services/upstash_shim.py) in front of a real
redis-server, or through an httpx.MockTransport where a malformed answer is needed. Timing
assertions are generous bounds (a hang must not last; no 3 s retry sleep), not benchmarks.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from lib.cache.upstash import UpstashCache
from tests.services.redis import RedisServer, RespConnection
from tests.services.upstash_shim import UpstashShim, running_upstash_shim

# The SDK's default retry sleeps 3 s before its second attempt; every failure must return
# well before that.
FAILURE_BOUND_SECONDS = 2.5
LOGGER = "lib.cache.upstash"


def latest_key(server_id: str) -> str:
    """A key of the shape the seeds used (any string key does for the cache)."""
    return f"server:{server_id}:latest"


@pytest.fixture
def cache(upstash: UpstashShim) -> Iterator[UpstashCache]:
    cache = UpstashCache(upstash.url, upstash.token, timeout=1.0)
    yield cache
    cache.close()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, so nothing can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _mock_cache(handler: Callable[[httpx.Request], httpx.Response], token: str) -> UpstashCache:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return UpstashCache("https://example.upstash.io", token, http_client=client)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# The requests the adapter sends.


def test_set_sends_one_set_with_ex_and_the_bearer_token(
    cache: UpstashCache, upstash: UpstashShim
) -> None:
    snapshot = json.dumps({"id": "web-01", "cpu": 41.5})
    cache.set(latest_key("web-01"), snapshot, ttl=300)
    [request] = upstash.requests
    assert request.method == "POST"
    assert request.path == "/"
    assert request.headers["authorization"] == f"Bearer {upstash.token}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == ["SET", "server:web-01:latest", snapshot, "EX", 300]


def test_set_lands_in_redis_with_its_ttl(
    cache: UpstashCache, upstash: UpstashShim, clean_redis: RedisServer
) -> None:
    cache.set("server:db-01:latest", "snapshot", ttl=300)
    with RespConnection(*clean_redis) as redis:
        assert redis.call("GET", "server:db-01:latest") == b"snapshot"
        ttl = redis.call("TTL", "server:db-01:latest")
    assert isinstance(ttl, int) and 295 <= ttl <= 300


def test_get_sends_get(cache: UpstashCache, upstash: UpstashShim) -> None:
    assert cache.get("server:web-02:latest") is None
    assert [r.body for r in upstash.requests] == [["GET", "server:web-02:latest"]]
    assert upstash.requests[0].path == "/"


def test_get_many_sends_one_mget(cache: UpstashCache, upstash: UpstashShim) -> None:
    cache.get_many(["a", "b", "c"])
    assert [(r.path, r.body) for r in upstash.requests] == [("/", ["MGET", "a", "b", "c"])]


def test_set_many_sends_one_pipeline_request(cache: UpstashCache, upstash: UpstashShim) -> None:
    cache.set_many({latest_key("web-01"): "s1", latest_key("api-01"): "s2"}, ttl=300)
    [request] = upstash.requests
    assert request.path == "/pipeline"
    assert request.headers["authorization"] == f"Bearer {upstash.token}"
    assert request.body == [
        ["SET", "server:web-01:latest", "s1", "EX", 300],
        ["SET", "server:api-01:latest", "s2", "EX", 300],
    ]


def test_delete_sends_del(cache: UpstashCache, upstash: UpstashShim) -> None:
    cache.delete("server:web-03:latest")
    assert [(r.path, r.body) for r in upstash.requests] == [("/", ["DEL", "server:web-03:latest"])]


def test_ping_sends_ping(cache: UpstashCache, upstash: UpstashShim) -> None:
    assert cache.ping() is True
    assert [(r.path, r.body) for r in upstash.requests] == [("/", ["PING"])]


def test_empty_batches_send_nothing(cache: UpstashCache, upstash: UpstashShim) -> None:
    assert cache.get_many([]) == []
    cache.set_many({}, ttl=300)
    cache.set("k", "v", ttl=0)
    assert upstash.requests == []


def test_requests_carry_no_telemetry_headers(cache: UpstashCache, upstash: UpstashShim) -> None:
    cache.set("k", "v", ttl=60)
    cache.set_many({"k2": "v"}, ttl=60)
    cache.get("k")
    assert len(upstash.requests) == 3
    for request in upstash.requests:
        assert not [name for name in request.headers if name.startswith("upstash-telemetry")]
        # base64 results keep any value intact through JSON; the shim encodes when asked
        assert request.headers["upstash-encoding"] == "base64"


def test_trailing_slash_in_the_url_is_ignored(upstash: UpstashShim) -> None:
    cache = UpstashCache(upstash.url + "/", upstash.token)
    cache.set_many({"k": "v"}, ttl=60)
    assert cache.get("k") == "v"
    assert [r.path for r in upstash.requests] == ["/pipeline", "/"]
    cache.close()


def test_injected_client_is_used_and_left_open() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), json.loads(request.content)))
        return httpx.Response(200, json={"result": _b64("from-mock")})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    cache = UpstashCache("https://example.upstash.io", "test-token", http_client=client)
    assert cache.get("k") == "from-mock"
    cache.close()
    assert not client.is_closed
    assert seen == [("https://example.upstash.io", ["GET", "k"])]
    client.close()


# Failures: logged, turned into misses, never raised, never retried, bounded in time.


def test_hung_endpoint_get_is_a_miss_within_about_the_timeout(
    cache: UpstashCache, upstash: UpstashShim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    upstash.hang(True)
    started = time.monotonic()
    assert cache.get(latest_key("web-01")) is None
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0
    assert len(upstash.requests) == 1  # no retry
    assert "GET failed" in caplog.text
    assert "Timeout" in caplog.text


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (lambda c: c.get_many(["a", "b"]), [None, None]),
        (lambda c: c.set("a", "v", 60), None),
        (lambda c: c.set_many({"a": "v", "b": "w"}, 60), None),
        (lambda c: c.delete("a"), None),
        (lambda c: c.ping(), False),
    ],
    ids=["get_many", "set", "set_many", "delete", "ping"],
)
def test_hung_endpoint_every_operation_returns_within_the_timeout(
    upstash: UpstashShim, operation: Callable[[UpstashCache], object], expected: object
) -> None:
    cache = UpstashCache(upstash.url, upstash.token, timeout=0.5)
    upstash.hang(True)
    started = time.monotonic()
    assert operation(cache) == expected
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    assert len(upstash.requests) == 1
    cache.close()


def test_injected_client_without_a_timeout_still_cannot_hang_a_read(upstash: UpstashShim) -> None:
    client = httpx.Client(timeout=None)
    cache = UpstashCache(upstash.url, upstash.token, http_client=client, timeout=0.5)
    upstash.hang(True)
    started = time.monotonic()
    assert cache.get("k") is None
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    client.close()


def test_redis_down_behind_the_endpoint_is_a_quick_miss(
    refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with running_upstash_shim(RedisServer("127.0.0.1", refused_port)) as shim:
        cache = UpstashCache(shim.url, shim.token, timeout=1.0)
        started = time.monotonic()
        assert cache.get("k") is None
        assert cache.get_many(["k", "l"]) == [None, None]
        cache.set("k", "v", ttl=60)
        cache.set_many({"k": "v"}, ttl=60)
        cache.delete("k")
        assert cache.ping() is False
        assert time.monotonic() - started < FAILURE_BOUND_SECONDS
        assert [r.path for r in shim.requests] == ["/", "/", "/", "/pipeline", "/", "/"]
        cache.close()
    assert "upstream redis unavailable" in caplog.text
    assert len(caplog.records) == 6


def test_unreachable_endpoint_is_a_quick_miss_without_retry(refused_port: int) -> None:
    cache = UpstashCache(f"http://127.0.0.1:{refused_port}", "test-token", timeout=1.0)
    started = time.monotonic()
    assert cache.get("k") is None
    cache.set("k", "v", ttl=60)
    assert cache.ping() is False
    # each failure would cost a 3 s sleep with the SDK's default retry
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    cache.close()


def test_non_json_answer_is_a_miss_sent_once() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    cache = _mock_cache(handler, "test-token")
    started = time.monotonic()
    assert cache.get("k") is None
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    assert len(calls) == 1


def test_redis_error_reply_is_a_miss(
    cache: UpstashCache, upstash: UpstashShim, clean_redis: RedisServer
) -> None:
    with RespConnection(*clean_redis) as redis:
        redis.call("LPUSH", "a-list", "x")
    assert cache.get("a-list") is None  # WRONGTYPE from Redis, 400 from the endpoint
    assert cache.get_many(["a-list", "missing"]) == [None, None]  # MGET gives nil for lists


def test_wrong_token_is_a_miss_logged_without_the_token(
    upstash: UpstashShim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    secret = "wrong-secret-token-0123456789"
    cache = UpstashCache(upstash.url, secret)
    cache.set("k", "v", ttl=60)
    assert cache.get("k") is None
    assert cache.ping() is False
    assert [r.headers["authorization"] for r in upstash.requests] == [f"Bearer {secret}"] * 3
    assert len(caplog.records) == 3
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert "Unauthorized" in caplog.text
    assert secret not in caplog.text
    cache.close()


def test_token_echoed_by_the_endpoint_is_redacted_from_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    secret = "echoed-secret-token-9876"

    def handler(request: httpx.Request) -> httpx.Response:
        echoed = request.headers["authorization"]
        return httpx.Response(400, json={"error": f"bad auth header {echoed}"})

    cache = _mock_cache(handler, secret)
    assert cache.get("k") is None
    [record] = caplog.records
    assert "bad auth header Bearer ***" in record.getMessage()
    assert secret not in caplog.text


def test_malformed_mget_answer_is_all_misses() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": [_b64("only-one")]})

    cache = _mock_cache(handler, "test-token")
    assert cache.get_many(["a", "b"]) == [None, None]


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be positive, got 0"):
        UpstashCache("https://example.upstash.io", "test-token", timeout=0)

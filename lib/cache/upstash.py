"""Upstash Redis over its REST API, through the ``upstash-redis`` SDK, tamed for serverless.

The SDK's defaults do not suit a request path (SPEC §7): it builds its own ``httpx.Client`` with
no timeout, retries every failed request (even a non-idempotent one) after sleeping 3 s, and sends
telemetry headers. Here retries are off, telemetry is off, and every request goes through an
``httpx.Client`` we choose (the caller's, or the SDK's own) with an explicit timeout on each
request. The SDK exposes no parameter for the client or the timeout, so the adapter wraps its
private ``SyncHttpClient._client`` (checked at construction, so an SDK release that renames it
fails loudly in the tests, not silently in production).

Any failure (HTTP error, timeout, error reply, malformed answer) is logged without the token and
becomes a miss or a no-op: the cache never fails its caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from upstash_redis import Redis

__all__ = ["UpstashCache"]

logger = logging.getLogger(__name__)


class _TimeoutBoundClient:
    """What the SDK calls on its HTTP client (``post``, ``close``), with our timeout applied.

    Passing the timeout per request means an injected client built without one still cannot hang
    a read; ``close`` is a no-op because the client's owner closes it.
    """

    def __init__(self, client: httpx.Client, timeout: httpx.Timeout) -> None:
        self._client = client
        self._timeout = timeout

    def post(self, url: str, *, headers: Mapping[str, str], json: Any) -> httpx.Response:
        return self._client.post(url, headers=headers, json=json, timeout=self._timeout)

    def close(self) -> None:
        return None


class UpstashCache:
    """A Cache backed by Upstash Redis; one HTTP request per call, no retries, bounded time.

    ``timeout`` (seconds) applies to each phase of a request (connect, write, read, pool), so a
    hung endpoint turns into a miss after about ``timeout``. ``http_client`` is injectable for
    tests and for sharing a connection pool; when given, the caller keeps ownership and closes it.
    """

    name = "upstash"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 1.0,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._token = token
        self._redis = Redis(
            url.rstrip("/"),
            token,
            rest_retries=0,
            rest_retry_interval=0,
            allow_telemetry=False,
        )
        sdk_http = _sdk_http(self._redis)
        self._owns_client = http_client is None
        if http_client is None:
            # The SDK's own client is fine once every request carries our timeout, and reusing
            # it saves building a second TLS context on a cold start.
            self._client: httpx.Client = sdk_http._client
        else:
            sdk_http._client.close()
            self._client = http_client
        sdk_http._client = _TimeoutBoundClient(self._client, httpx.Timeout(timeout))

    def get(self, key: str) -> str | None:
        """GET ``key``; None on a miss or any failure."""
        try:
            value = self._redis.get(key)
        except Exception as exc:
            self._log_failure("GET", exc)
            return None
        return value if isinstance(value, str) else None

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """MGET ``keys`` in one request; all None on any failure."""
        if not keys:
            return []
        try:
            values = self._redis.mget(*keys)
        except Exception as exc:
            self._log_failure("MGET", exc)
            return [None] * len(keys)
        if not isinstance(values, list) or len(values) != len(keys):
            logger.warning("upstash MGET returned a malformed answer; treating it as misses")
            return [None] * len(keys)
        return [value if isinstance(value, str) else None for value in values]

    def set(self, key: str, value: str, ttl: int) -> None:
        """SET ``key`` with EX ``ttl``; failures are logged and dropped."""
        if ttl < 1:
            logger.warning("upstash: ignoring SET with ttl=%s (must be >= 1)", ttl)
            return
        try:
            self._redis.set(key, value, ex=ttl)
        except Exception as exc:
            self._log_failure("SET", exc)

    def add(self, key: str, value: str, ttl: int) -> bool:
        """SET ``key`` NX EX ``ttl``: True when this call set it; True too when Upstash
        fails (logged), so a lock never stops the work it guards."""
        try:
            return bool(self._redis.set(key, value, nx=True, ex=max(1, ttl)))
        except Exception as exc:
            self._log_failure("SET NX", exc)
            return True

    def set_many(self, items: Mapping[str, str], ttl: int) -> None:
        """One SET … EX per item, sent as a single /pipeline request."""
        if not items:
            return
        if ttl < 1:
            logger.warning("upstash: ignoring pipelined SET with ttl=%s (must be >= 1)", ttl)
            return
        pipeline = self._redis.pipeline()
        for key, value in items.items():
            pipeline.set(key, value, ex=ttl)
        try:
            pipeline.exec()
        except Exception as exc:
            self._log_failure("pipeline SET", exc)

    def delete(self, key: str) -> None:
        """DEL ``key``; failures are logged and dropped."""
        try:
            self._redis.delete(key)
        except Exception as exc:
            self._log_failure("DEL", exc)

    def ping(self) -> bool:
        """True when Upstash answers PING with PONG now."""
        try:
            return self._redis.ping() == "PONG"
        except Exception as exc:
            self._log_failure("PING", exc)
            return False

    def close(self) -> None:
        """Close the HTTP client if this cache created it."""
        if self._owns_client:
            self._client.close()

    def _log_failure(self, command: str, exc: Exception) -> None:
        # Never log exc_info: the message is redacted, a traceback's text would not be.
        message = str(exc)
        if self._token:
            message = message.replace(self._token, "***")
        logger.warning(
            "upstash %s failed, treated as a miss/no-op: %s: %s",
            command,
            type(exc).__name__,
            message,
        )


def _sdk_http(redis: Redis) -> Any:
    """The SDK's SyncHttpClient, whose httpx client we replace (see the module docstring)."""
    sdk_http: Any = getattr(redis, "_http", None)
    if not isinstance(getattr(sdk_http, "_client", None), httpx.Client):
        raise RuntimeError(
            "upstash_redis.Redis no longer keeps its httpx client at ._http._client; "
            "lib/cache/upstash.py must be adapted to this upstash-redis version"
        )
    return sdk_http

"""get_cache: the backend chosen from the environment, and the errors for unusable settings.

Upstash choices are checked end to end: the cache the factory returns talks to the local REST
shim, and the shim's recorded requests show which URL and token were used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from lib.cache import Cache, MemoryCache, NullCache, get_cache
from lib.cache.upstash import UpstashCache
from lib.core import ConfigError, Settings, get_settings
from tests.services.upstash_shim import UpstashShim

CACHE_VARIABLES = (
    "CACHE_BACKEND",
    "CACHE_TIMEOUT_SECONDS",
    "UPSTASH_REDIS_REST_URL",
    "UPSTASH_REDIS_REST_TOKEN",
    "KV_REST_API_URL",
    "KV_REST_API_TOKEN",
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No cache setting from the outer environment leaks in; settings re-read on each test."""
    for variable in CACHE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def made() -> Iterator[list[Cache]]:
    """Caches made by a test, closed after it."""
    caches: list[Cache] = []
    yield caches
    for cache in caches:
        cache.close()


def _round_trip(cache: Cache) -> str | None:
    cache.set("factory:k", "v", ttl=60)
    return cache.get("factory:k")


def test_auto_without_upstash_is_the_process_wide_memory_cache() -> None:
    cache = get_cache()
    assert isinstance(cache, MemoryCache)
    assert cache.name == "memory"
    assert get_cache() is cache
    assert get_cache(Settings(cache_backend="memory")) is cache


def test_auto_with_upstash_variables_uses_upstash(
    env: pytest.MonkeyPatch, upstash: UpstashShim, made: list[Cache]
) -> None:
    env.setenv("UPSTASH_REDIS_REST_URL", upstash.url)
    env.setenv("UPSTASH_REDIS_REST_TOKEN", upstash.token)
    cache = get_cache()
    made.append(cache)
    assert isinstance(cache, UpstashCache)
    assert cache.name == "upstash"
    assert _round_trip(cache) == "v"
    assert {r.headers["authorization"] for r in upstash.requests} == {f"Bearer {upstash.token}"}


def test_auto_falls_back_to_vercel_kv_variables(
    env: pytest.MonkeyPatch, upstash: UpstashShim, made: list[Cache]
) -> None:
    env.setenv("KV_REST_API_URL", upstash.url)
    env.setenv("KV_REST_API_TOKEN", upstash.token)
    cache = get_cache()
    made.append(cache)
    assert isinstance(cache, UpstashCache)
    assert _round_trip(cache) == "v"
    assert len(upstash.requests) == 2


def test_upstash_variables_win_over_kv_ones(
    env: pytest.MonkeyPatch, upstash: UpstashShim, made: list[Cache]
) -> None:
    env.setenv("UPSTASH_REDIS_REST_URL", upstash.url)
    env.setenv("UPSTASH_REDIS_REST_TOKEN", upstash.token)
    env.setenv("KV_REST_API_URL", "http://127.0.0.1:9")
    env.setenv("KV_REST_API_TOKEN", "kv-token-not-used")
    cache = get_cache()
    made.append(cache)
    assert _round_trip(cache) == "v"
    assert [r.headers["authorization"] for r in upstash.requests] == [f"Bearer {upstash.token}"] * 2


def test_blank_upstash_url_falls_back_to_kv(
    env: pytest.MonkeyPatch, upstash: UpstashShim, made: list[Cache]
) -> None:
    env.setenv("UPSTASH_REDIS_REST_URL", "  ")
    env.setenv("KV_REST_API_URL", upstash.url)
    env.setenv("KV_REST_API_TOKEN", upstash.token)
    cache = get_cache()
    made.append(cache)
    assert _round_trip(cache) == "v"


def test_auto_with_only_half_of_upstash_uses_memory_and_warns(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lib.cache.factory")
    env.setenv("UPSTASH_REDIS_REST_URL", "https://xyz.upstash.io")
    assert isinstance(get_cache(), MemoryCache)
    assert "only one of the Upstash REST URL and token is set" in caplog.text


def test_explicit_memory_ignores_upstash_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "memory")
    env.setenv("UPSTASH_REDIS_REST_URL", "https://xyz.upstash.io")
    env.setenv("UPSTASH_REDIS_REST_TOKEN", "token")
    assert isinstance(get_cache(), MemoryCache)


def test_none_is_a_cache_that_always_misses(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "none")
    env.setenv("UPSTASH_REDIS_REST_URL", "https://xyz.upstash.io")
    env.setenv("UPSTASH_REDIS_REST_TOKEN", "token")
    cache = get_cache()
    assert isinstance(cache, NullCache)
    assert isinstance(cache, Cache)
    assert cache.name == "none"
    cache.set("k", "v", ttl=60)
    cache.set_many({"a": "1", "b": "2"}, ttl=60)
    assert cache.get("k") is None
    assert cache.get_many(["a", "b"]) == [None, None]
    assert cache.ping() is True


def test_explicit_upstash_without_url_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "upstash")
    env.setenv("UPSTASH_REDIS_REST_TOKEN", "token")
    with pytest.raises(ConfigError) as caught:
        get_cache()
    assert caught.value.variable == "UPSTASH_REDIS_REST_URL"
    assert str(caught.value) == (
        "UPSTASH_REDIS_REST_URL: required when CACHE_BACKEND=upstash (or KV_REST_API_URL)"
    )


def test_explicit_upstash_without_token_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "upstash")
    env.setenv("KV_REST_API_URL", "https://xyz.upstash.io")
    with pytest.raises(ConfigError) as caught:
        get_cache()
    assert caught.value.variable == "UPSTASH_REDIS_REST_TOKEN"
    assert "KV_REST_API_TOKEN" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("UPSTASH_REDIS_REST_URL", "redis://default:pw@xyz.upstash.io:6379"),
        ("UPSTASH_REDIS_REST_URL", "xyz.upstash.io"),
        ("KV_REST_API_URL", "https://"),
    ],
)
def test_url_that_is_not_http_names_its_variable_without_echoing_it(
    env: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    env.setenv(variable, url)
    env.setenv("UPSTASH_REDIS_REST_TOKEN", "token")
    with pytest.raises(ConfigError) as caught:
        get_cache()  # auto: both are set, so Upstash is chosen and checked
    assert caught.value.variable == variable
    assert str(caught.value) == f"{variable}: must be an http(s) URL such as https://xyz.upstash.io"


def test_explicit_upstash_with_a_bad_url_fails_too(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "upstash")
    env.setenv("KV_REST_API_URL", "ftp://xyz.upstash.io")
    env.setenv("KV_REST_API_TOKEN", "token")
    with pytest.raises(ConfigError, match=r"^KV_REST_API_URL: must be an http"):
        get_cache()


def test_unknown_backend_is_a_config_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("CACHE_BACKEND", "memcached")
    with pytest.raises(ConfigError) as caught:
        get_cache()
    assert caught.value.variable == "CACHE_BACKEND"


def test_upstash_cache_uses_the_configured_timeout(
    env: pytest.MonkeyPatch, upstash: UpstashShim, made: list[Cache]
) -> None:
    # A lower bound cannot flake on a slow machine: the default (1 s) would answer sooner.
    env.setenv("UPSTASH_REDIS_REST_URL", upstash.url)
    env.setenv("UPSTASH_REDIS_REST_TOKEN", upstash.token)
    env.setenv("CACHE_TIMEOUT_SECONDS", "1.5")
    cache = get_cache()
    made.append(cache)
    upstash.hang(True)
    started = time.monotonic()
    assert cache.get("k") is None
    assert 1.4 <= time.monotonic() - started < 5.0


def test_explicit_settings_object_overrides_the_environment(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("CACHE_BACKEND", "memory")
    assert isinstance(get_cache(Settings(cache_backend="none")), NullCache)

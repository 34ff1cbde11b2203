"""FastAPI dependencies: settings, store, cache, collector and clock, as Annotated aliases.

Backends are built lazily, once per process (a warm serverless instance reuses its store
connection and in-memory cache); tests replace them with ``app.dependency_overrides``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lib.alerts.rules import RuleError, RuleSet
from lib.cache import Cache
from lib.collectors import Collector
from lib.core import ConfigError, Settings, get_settings
from lib.store import MetricStore

if TYPE_CHECKING:
    from lib.app.alerts import Sender

__all__ = [
    "AlertTokenDep",
    "CacheDep",
    "HotCacheDep",
    "CollectorDep",
    "CronTokenDep",
    "LocalDep",
    "NowDep",
    "SettingsDep",
    "StoreDep",
    "provide_cache",
    "provide_hot_cache",
    "provide_collector",
    "provide_local",
    "provide_now",
    "provide_settings",
    "provide_store",
    "RulesDep",
    "SendersDep",
    "provide_alert_token",
    "provide_rules",
    "provide_senders",
    "reset_resources",
]

T = TypeVar("T")
_lock = threading.Lock()
_resources: dict[str, object] = {}


def _once(name: str, build: Callable[[], T]) -> T:
    with _lock:
        if name not in _resources:
            _resources[name] = build()
        return _resources[name]  # type: ignore[return-value]


def reset_resources() -> None:
    """Close and forget the process's backends (tests, or after a settings change)."""
    with _lock:
        for resource in _resources.values():
            close = getattr(resource, "close", None)
            if close is not None:
                close()
        _resources.clear()
    get_settings.cache_clear()


def provide_settings() -> Settings:
    return get_settings()


def provide_store() -> MetricStore:
    from lib.store import get_store

    return _once("store", lambda: get_store(get_settings()))


def provide_cache() -> Cache:
    from lib.cache import get_cache

    return _once("cache", lambda: get_cache(get_settings()))


def provide_hot_cache() -> Cache:
    """This process's memory, the hot layer of the live view (tests override it)."""
    from lib.cache import process_cache

    return process_cache()


def provide_collector() -> Collector:
    from lib.collectors import get_collector

    return _once("collector", lambda: get_collector(get_settings()))


def provide_now() -> int:
    """The current instant in epoch seconds (overridden in tests to freeze time)."""
    return int(time.time())


_cron_bearer = HTTPBearer(
    auto_error=False, scheme_name="cronBearer",
    description="Authorization: Bearer $CRON_SECRET (what Vercel's cron sends)",
)


def provide_cron_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_cron_bearer)],
) -> str | None:
    """The bearer token of the request, if it carries one."""
    return credentials.credentials if credentials is not None else None


_alerts_bearer = HTTPBearer(
    auto_error=False, scheme_name="alertsBearer",
    description="Authorization: Bearer $ALERTS_TOKEN (alert writes and evaluation)",
)


def provide_alert_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_alerts_bearer)],
) -> str | None:
    """The bearer token of an alert write, if the request carries one."""
    return credentials.credentials if credentials is not None else None


def provide_rules(settings: Annotated[Settings, Depends(provide_settings)]) -> RuleSet:
    """The alert rules: ALERT_RULES_FILE, else the shipped defaults (once per process)."""
    from lib.alerts.rules import default_rules, load_rules

    path = settings.alert_rules_file

    def build() -> RuleSet:
        if not path:
            return default_rules()
        try:
            return load_rules(path)
        except RuleError as exc:
            raise ConfigError("ALERT_RULES_FILE", exc.problems[0]) from exc

    return _once(f"rules:{path}", build)


def provide_senders(settings: Annotated[Settings, Depends(provide_settings)]) -> list[Sender]:
    """The notification channels the settings configure (none: nothing is sent)."""
    from lib.alerts.channels import channels_from_settings

    key = "senders:" + "|".join(str(v) for v in (
        settings.alert_webhook_url, settings.alert_webhook_token,
        settings.alert_slack_webhook_url, settings.alert_discord_webhook_url,
        settings.alertmanager_url, settings.alert_timeout_seconds,
        settings.alert_external_url))
    return _once(key, lambda: list(channels_from_settings(settings)))


def provide_local() -> bool:
    """Whether this is the local development server (``python -m lib serve`` overrides it)."""
    return False


SettingsDep = Annotated[Settings, Depends(provide_settings)]
StoreDep = Annotated[MetricStore, Depends(provide_store)]
CacheDep = Annotated[Cache, Depends(provide_cache)]
HotCacheDep = Annotated[Cache, Depends(provide_hot_cache)]
CollectorDep = Annotated[Collector, Depends(provide_collector)]
NowDep = Annotated[int, Depends(provide_now)]
LocalDep = Annotated[bool, Depends(provide_local)]
CronTokenDep = Annotated[str | None, Depends(provide_cron_token)]
AlertTokenDep = Annotated[str | None, Depends(provide_alert_token)]
RulesDep = Annotated[RuleSet, Depends(provide_rules)]
SendersDep = Annotated["list[Sender]", Depends(provide_senders)]

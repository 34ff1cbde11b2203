"""The HTTP layer, the only one that knows FastAPI: the app factory every function uses, its
dependencies, responses and error translation, and every function on one app for local
serving and the docs.
"""

from __future__ import annotations

from .app import create_app
from .deps import (
    AlertTokenDep,
    CacheDep,
    CollectorDep,
    CronTokenDep,
    HotCacheDep,
    LocalDep,
    NowDep,
    RulesDep,
    SendersDep,
    SettingsDep,
    StoreDep,
    provide_alert_token,
    provide_cache,
    provide_collector,
    provide_hot_cache,
    provide_local,
    provide_now,
    provide_rules,
    provide_senders,
    provide_settings,
    provide_store,
    reset_resources,
)
from .local import API_DIR, combined_app, docs_router, function_modules, openapi_schema
from .middleware import MAX_QUERY_BYTES, ROUTE_PARAMETER
from .responses import ERROR_RESPONSES, NO_STORE, CachePolicy, error_response, respond

__all__ = [
    "API_DIR",
    "AlertTokenDep",
    "ERROR_RESPONSES",
    "MAX_QUERY_BYTES",
    "NO_STORE",
    "ROUTE_PARAMETER",
    "CacheDep",
    "CachePolicy",
    "CollectorDep",
    "CronTokenDep",
    "HotCacheDep",
    "LocalDep",
    "NowDep",
    "RulesDep",
    "SendersDep",
    "SettingsDep",
    "StoreDep",
    "combined_app",
    "create_app",
    "docs_router",
    "error_response",
    "function_modules",
    "openapi_schema",
    "provide_alert_token",
    "provide_cache",
    "provide_collector",
    "provide_hot_cache",
    "provide_local",
    "provide_now",
    "provide_rules",
    "provide_senders",
    "provide_settings",
    "provide_store",
    "reset_resources",
    "respond",
]

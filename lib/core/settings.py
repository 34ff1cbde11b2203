"""Settings: the one place that reads the environment; validated, cached.

Blank values count as unset (Vercel keeps a variable whose value was cleared as an empty
string), so no caller strips or checks for empty strings again. Tests override by setting
environment variables and calling ``get_settings.cache_clear()``; the CLI and tests derive
changed settings with ``settings.model_copy(update=...)``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError
from .timeutil import is_time_zone

__all__ = ["DEFAULT_SEED", "DEFAULT_TIMEZONE", "Settings", "get_settings"]

DEFAULT_SEED = 20240101
DEFAULT_TIMEZONE = "Asia/Seoul"


class Settings(BaseSettings):
    """Every setting the project reads, with its environment variable name."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    metrics_seed: int = Field(DEFAULT_SEED, ge=0, le=2**63 - 1)
    fleet_profile: Literal["default", "hybrid"] = "default"
    fleet_timezone: str = DEFAULT_TIMEZONE

    metrics_store: Literal["auto", "sqlite", "supabase", "postgres"] = "auto"
    sqlite_path: str | None = None
    supabase_url: str | None = None
    supabase_service_role_key: str | None = None
    supabase_anon_key: str | None = None
    postgres_url: str | None = None
    database_url: str | None = None
    store_timeout_seconds: float = Field(8.0, gt=0, le=60)

    cache_backend: Literal["auto", "memory", "upstash", "none"] = "auto"
    upstash_redis_rest_url: str | None = None
    upstash_redis_rest_token: str | None = None
    kv_rest_api_url: str | None = None
    kv_rest_api_token: str | None = None
    cache_timeout_seconds: float = Field(1.0, gt=0, le=30)
    cache_ttl_seconds: int = Field(300, ge=1)

    retention_hours: int = Field(168, ge=1)
    history_retention_days: int = Field(90, ge=1)
    cron_secret: str | None = None
    vercel: str | None = None
    cors_origins: str = "*"

    collector_mode: Literal["dummy", "prometheus", "custom", "cloudwatch"] = "dummy"
    prometheus_endpoint: str | None = None
    prometheus_api_key: str | None = None
    prometheus_timeout_seconds: float = Field(5.0, gt=0, le=60)
    onprem_api_endpoint: str | None = None
    onprem_api_key: str | None = None
    onprem_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # COLLECTOR_MODE=cloudwatch: the AWS SDK's standard names, then our own.
    aws_region: str | None = None
    aws_default_region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None  # SecretStr: never shown in a repr or log
    aws_session_token: SecretStr | None = None
    aws_endpoint_url: str | None = None
    cloudwatch_tag_key: str = "fleet"
    cloudwatch_tag_value: str | None = None
    cloudwatch_period_seconds: int = Field(300, ge=60, le=86_400)
    cloudwatch_timeout_seconds: float = Field(5.0, gt=0, le=60)

    # Alerting (docs/alerts.md): writes need ALERTS_TOKEN (the cron secret is not reused).
    alerts_token: str | None = None
    alert_rules_file: str | None = None          # default: the rules that ship (lib/alerts)
    alert_webhook_url: str | None = None         # Alertmanager webhook v4 JSON
    alert_webhook_token: str | None = None       # sent as a bearer token to that webhook
    alert_slack_webhook_url: str | None = None
    alert_discord_webhook_url: str | None = None
    alertmanager_url: str | None = None          # forward to POST {url}/api/v2/alerts
    alert_timeout_seconds: float = Field(5.0, gt=0, le=30)
    alert_external_url: str | None = None        # links in notifications (the dashboard)
    alerts_on_poll: bool = True                  # a live poll may run the minute's evaluation

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: object) -> object:
        """Surrounding blanks removed; an empty value is no value (its default applies)."""
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            cleaned[key] = value
        return cleaned

    @field_validator("fleet_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @property
    def on_vercel(self) -> bool:
        return bool(self.vercel)

    @property
    def allowed_origins(self) -> list[str]:
        """``CORS_ORIGINS`` as a list (``*`` when none is given)."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()] or ["*"]

    @property
    def upstash_url(self) -> str | None:
        return self.upstash_redis_rest_url or self.kv_rest_api_url

    @property
    def upstash_token(self) -> str | None:
        return self.upstash_redis_rest_token or self.kv_rest_api_token

    @property
    def postgres_dsn(self) -> str | None:
        return self.postgres_url or self.database_url

    def resolved_sqlite_path(self) -> str:
        """``SQLITE_PATH``, else /tmp on Vercel (the only writable place), else ./data/."""
        if self.sqlite_path:
            return self.sqlite_path
        if self.on_vercel:
            return "/tmp/fleet-metrics.sqlite3"
        return os.path.join(os.getcwd(), "data", "fleet-metrics.sqlite3")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; ConfigError naming the variable when one is malformed."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "environment"
        raise ConfigError(variable, error["msg"]) from None

"""Settings: the one reader of the environment; blank values count as unset."""

from __future__ import annotations

import pytest

from lib.core import DEFAULT_SEED, DEFAULT_TIMEZONE, ConfigError, Settings, get_settings


def test_blank_values_are_unset_and_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"POSTGRES_URL": "  ", "METRICS_SEED": " ", "FLEET_TIMEZONE": "",
                        "CRON_SECRET": "\t"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.postgres_url is None and settings.cron_secret is None
    assert settings.metrics_seed == DEFAULT_SEED and settings.fleet_timezone == DEFAULT_TIMEZONE


def test_values_are_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_SEED", " 42 ")
    monkeypatch.setenv("SUPABASE_URL", " https://x.supabase.co \n")
    settings = Settings()
    assert settings.metrics_seed == 42 and settings.supabase_url == "https://x.supabase.co"


def test_keyword_arguments_are_cleaned_alike() -> None:
    assert Settings(upstash_redis_rest_url=" ", kv_rest_api_url="https://kv").upstash_url \
        == "https://kv"


@pytest.mark.parametrize(("origins", "expected"), [
    ("*", ["*"]), ("https://a.example, https://b.example", ["https://a.example",
                                                            "https://b.example"]),
    (" , ", ["*"]),
])
def test_allowed_origins_from_cors_origins(origins: str, expected: list[str]) -> None:
    assert Settings(cors_origins=origins).allowed_origins == expected


def test_a_malformed_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError) as caught:
            get_settings()
        assert caught.value.variable == "FLEET_TIMEZONE"
    finally:
        get_settings.cache_clear()

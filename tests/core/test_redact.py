"""Credentials out of log lines."""

from __future__ import annotations

from lib.core import Settings, dsn_passwords, redact, secrets_of


def test_passwords_in_urls_and_key_value_strings_are_masked() -> None:
    assert redact("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("host=h password='a b' user=u") == "host=h password=*** user=u"


def test_configured_secrets_are_masked_wherever_they_appear() -> None:
    settings = Settings(postgres_url="postgresql://postgres:Sup3r%zzSecret@db:5432/x",
                        cron_secret="cron-s3cret", upstash_redis_rest_token="tok-123456")
    secrets = secrets_of(settings)
    text = 'invalid percent-encoded token: "Sup3r%zzSecret"; bearer cron-s3cret tok-123456'
    assert redact(text, secrets) == 'invalid percent-encoded token: "***"; bearer *** ***'


def test_dsn_passwords_as_written_and_decoded() -> None:
    assert dsn_passwords("postgres://u:p%40ss@h/db") == ["p%40ss", "p@ss"]
    assert dsn_passwords("postgres://u@h/db") == []

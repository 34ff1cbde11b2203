"""Credentials out of log lines: passwords in connection strings and every configured secret.

Driver messages quote what they were given ("invalid percent-encoded token: …", a DSN in a
connection error), so before an exception's text is logged it goes through ``redact`` with
the process's secrets (``secrets_of(settings)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from .settings import Settings

__all__ = ["MASK", "dsn_passwords", "redact", "secrets_of"]

MASK = "***"

# user:password@ in a URL, password=... in a libpq key/value string.
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?=@)")
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def dsn_passwords(dsn: str) -> list[str]:
    """The password of a URL-form DSN as written and percent-decoded (even if malformed)."""
    match = re.search(r"://[^:/@\s]*:([^@\s]*)@", dsn)
    if not match or not match.group(1):
        return []
    raw = match.group(1)
    return [raw, unquote(raw)]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, longest first (so no secret is half-masked)."""
    values = [
        settings.cron_secret, settings.supabase_service_role_key, settings.supabase_anon_key,
        settings.upstash_redis_rest_token, settings.kv_rest_api_token,
        settings.prometheus_api_key, settings.onprem_api_key, settings.alerts_token,
        settings.alert_webhook_token, settings.alert_slack_webhook_url,
        settings.alert_discord_webhook_url,
    ]
    for dsn in (settings.postgres_url, settings.database_url):
        if dsn:
            values.extend(dsn_passwords(dsn))
    found = {v.strip() for v in values if v and len(v.strip()) >= 4}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL and key/value passwords and each of ``secrets`` replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m["head"] + MASK, text)

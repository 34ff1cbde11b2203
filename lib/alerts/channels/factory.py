"""``channels_from_settings``: one channel per configured variable, in a fixed order."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from lib.core import ConfigError, Settings

from .base import Channel, HTTPChannel, url_problem
from .senders import AlertmanagerChannel, DiscordChannel, SlackChannel, WebhookChannel

__all__ = ["channels_from_settings"]


def channels_from_settings(settings: Settings, client: httpx.Client | None = None) -> list[Channel]:
    """The channels the settings configure, in this order: ALERT_WEBHOOK_URL (with
    ALERT_WEBHOOK_TOKEN), ALERT_SLACK_WEBHOOK_URL, ALERT_DISCORD_WEBHOOK_URL, ALERTMANAGER_URL;
    links point at ALERT_EXTERNAL_URL; each request is bounded by ALERT_TIMEOUT_SECONDS.

    None configured is an empty list. A malformed URL, or a token without its URL, raises
    ConfigError naming the variable (never repeating the value: these URLs are secrets).
    ``client`` is shared by every channel and stays the caller's to close; without one, each
    channel makes its own (closed by its ``close()``).
    """
    external = settings.alert_external_url
    if external:
        problem = url_problem(external, "https://fleet.example.com")
        if problem:
            raise ConfigError("ALERT_EXTERNAL_URL", problem)
    if settings.alert_webhook_token and not settings.alert_webhook_url:
        raise ConfigError("ALERT_WEBHOOK_TOKEN", "is set but ALERT_WEBHOOK_URL is not")
    timeout = settings.alert_timeout_seconds
    token = settings.alert_webhook_token
    configured: list[tuple[str, str | None, Callable[[str], HTTPChannel]]] = [
        ("ALERT_WEBHOOK_URL", settings.alert_webhook_url, lambda url: WebhookChannel(
            url, token=token, external_url=external, timeout=timeout, client=client)),
        ("ALERT_SLACK_WEBHOOK_URL", settings.alert_slack_webhook_url, lambda url: SlackChannel(
            url, external_url=external, timeout=timeout, client=client)),
        ("ALERT_DISCORD_WEBHOOK_URL", settings.alert_discord_webhook_url,
         lambda url: DiscordChannel(url, external_url=external, timeout=timeout, client=client)),
        ("ALERTMANAGER_URL", settings.alertmanager_url, lambda url: AlertmanagerChannel(
            url, external_url=external, timeout=timeout, client=client)),
    ]
    channels: list[HTTPChannel] = []
    for variable, url, make in configured:
        if not url:
            continue
        try:
            channels.append(make(url))
        except ValueError as exc:
            for made in channels:
                made.close()
            raise ConfigError(variable, str(exc)) from None
    return list(channels)

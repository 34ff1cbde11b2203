"""The four channels: a generic webhook (Alertmanager webhook v4), Slack, Discord, and
forwarding to an Alertmanager. Each renders with lib.alerts.channels.render/chat and sends
with HTTPChannel; they differ only in the payload, the URL and the headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from ..model import Notification
from .base import HTTPChannel
from .chat import discord_payload, slack_payload
from .render import DEFAULT_RECEIVER, alertmanager_alerts, webhook_payload

__all__ = ["AlertmanagerChannel", "DiscordChannel", "SlackChannel", "WebhookChannel"]

ALERTMANAGER_PATH = "/api/v2/alerts"


class WebhookChannel(HTTPChannel):
    """POSTs Alertmanager's webhook v4 JSON (with Grafana's extra fields) to ``url``.

    ``token`` goes out as ``Authorization: Bearer <token>``. Every request carries
    ``Idempotency-Key: <group_key>:<seq>`` (the notification's key), so a receiver can drop the
    second copy when a retry follows a request that arrived but timed out.
    """

    name = "webhook"
    example = "https://receiver.example.com/alerts"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        receiver: str = DEFAULT_RECEIVER,
        external_url: str | None = None,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(url, timeout=timeout, client=client, secrets=(token,) if token else ())
        self._token = token
        self.receiver = receiver
        self.external_url = external_url

    def send(self, notification: Notification) -> None:
        headers = {"Idempotency-Key": notification.key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        payload = webhook_payload(notification, receiver=self.receiver,
                                  external_url=self.external_url)
        self._post(payload, headers)


class _ChatChannel(HTTPChannel):
    """POSTs ``render(notification)`` to a chat webhook whose URL is the secret."""

    render: ClassVar[Callable[..., dict[str, Any]]]

    def __init__(
        self,
        url: str,
        *,
        external_url: str | None = None,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(url, timeout=timeout, client=client)
        self.external_url = external_url

    def send(self, notification: Notification) -> None:
        self._post(type(self).render(notification, external_url=self.external_url))


class SlackChannel(_ChatChannel):
    """POSTs a message with blocks to a Slack incoming webhook (the URL is the secret)."""

    name = "slack"
    example = "https://hooks.slack.com/services/T000/B000/XXXX"
    render = staticmethod(slack_payload)


class DiscordChannel(_ChatChannel):
    """POSTs content and an embed to a Discord webhook (the URL is the secret)."""

    name = "discord"
    example = "https://discord.com/api/webhooks/123/XXXX"
    render = staticmethod(discord_payload)


class AlertmanagerChannel(HTTPChannel):
    """POSTs the notification's alerts to ``{url}/api/v2/alerts`` of an Alertmanager.

    ``url`` is Alertmanager's base URL (``http://alertmanager:9093``; a trailing
    ``/api/v2/alerts`` is accepted and dropped). A notification that lists no alert sends
    nothing. Alertmanager forgets a firing alert that is not sent again within its
    ``resolve_timeout`` (docs/alerts-channels.md).
    """

    name = "alertmanager"
    example = "http://alertmanager:9093"
    secret_path = False  # a base URL; only credentials in it are masked

    def __init__(
        self,
        url: str,
        *,
        external_url: str | None = None,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        base = url.rstrip("/")
        if urlsplit(base).query:
            raise ValueError("url must be Alertmanager's base URL, without a query")
        if base.endswith(ALERTMANAGER_PATH):
            base = base[: -len(ALERTMANAGER_PATH)]
        super().__init__(base + ALERTMANAGER_PATH, timeout=timeout, client=client)
        self.base_url = base
        self.external_url = external_url

    def send(self, notification: Notification) -> None:
        alerts = alertmanager_alerts(notification, external_url=self.external_url)
        if alerts:
            self._post(alerts)

"""Delivery of notifications: a generic webhook in Alertmanager's webhook v4 format, Slack,
Discord, and forwarding to an Alertmanager (docs/alerts-channels.md).

``render`` and ``chat`` build the payloads (pure); the channels in ``senders`` post them
through an injectable ``httpx.Client`` and raise only DeliveryError; ``channels_from_settings``
picks the channels the environment configures.
"""

from __future__ import annotations

from ..errors import DeliveryError
from .base import Channel, HTTPChannel
from .chat import discord_payload, slack_payload
from .factory import channels_from_settings
from .render import alertmanager_alerts, webhook_payload
from .senders import AlertmanagerChannel, DiscordChannel, SlackChannel, WebhookChannel

__all__ = [
    "AlertmanagerChannel",
    "Channel",
    "DeliveryError",
    "DiscordChannel",
    "HTTPChannel",
    "SlackChannel",
    "WebhookChannel",
    "alertmanager_alerts",
    "channels_from_settings",
    "discord_payload",
    "slack_payload",
    "webhook_payload",
]

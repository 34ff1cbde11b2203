"""Delivery of notifications: a generic webhook in Alertmanager's webhook v4 format, Slack,
Discord, and forwarding to an Alertmanager (docs/alerts-channels.md).

``render`` and ``chat`` build the payloads (pure).
"""

from __future__ import annotations

from .chat import discord_payload, slack_payload
from .render import alertmanager_alerts, webhook_payload

__all__ = [
    "alertmanager_alerts",
    "discord_payload",
    "slack_payload",
    "webhook_payload",
]

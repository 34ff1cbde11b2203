"""Alerting: rules over each tick's values and the analysis, alert states by fingerprint,
one notification per incident group, silences, acknowledgement (docs/alerts.md).

The package is pure apart from ``channels`` (HTTP delivery through an injected
``httpx.Client``): it sees rows and the analysis, never the simulator or a store.
"""

from __future__ import annotations

from .channels import Channel, channels_from_settings
from .errors import DeliveryError
from .model import AlertState, Notification, NotificationAlert, Severity, fingerprint

__all__ = [
    "AlertState",
    "Channel",
    "DeliveryError",
    "Notification",
    "NotificationAlert",
    "Severity",
    "channels_from_settings",
    "fingerprint",
]

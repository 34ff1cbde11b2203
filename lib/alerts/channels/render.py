"""Payloads in the formats Alertmanager defines, built from a Notification; pure, no HTTP.

``webhook_payload`` is Alertmanager's webhook v4 message with Grafana's extra fields;
``alertmanager_alerts`` the alert list of Alertmanager's ``POST /api/v2/alerts``. The helpers
every channel shares (the headline, links to the dashboard, times, safe truncation) live here
too. docs/alerts-channels.md shows each payload.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from lib.core import format_iso

from ..model import Notification, NotificationAlert

__all__ = [
    "DEFAULT_RECEIVER",
    "ZERO_TIME",
    "Links",
    "alert_annotations",
    "alert_labels",
    "alert_line",
    "alertmanager_alerts",
    "clip",
    "describe",
    "fit_list",
    "headline",
    "pattern_words",
    "state_word",
    "utf16_len",
    "webhook_payload",
]

# Alertmanager's JSON for Go's zero time.Time: the endsAt of an alert that is still firing.
ZERO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_RECEIVER = "fleet-metrics"
GRAFANA_ORG_ID = 1          # Grafana's default organisation; we have no others
GROUP_LABEL = "alert_group"  # added to forwarded alerts so a route can group_by our groups
ELLIPSIS = "…"


# --- words and numbers ---------------------------------------------------------------------


def pattern_words(pattern: str) -> str:
    """``memory_leak`` → ``memory leak``; ``unknown`` → ``anomaly (pattern unknown)``."""
    if not pattern or pattern == "unknown":
        return "anomaly (pattern unknown)"
    return pattern.replace("_", " ")


def state_word(notification: Notification) -> str:
    """``RESOLVED``, or the severity in capitals (``CRITICAL``, ``WARNING``) while firing."""
    return "RESOLVED" if notification.status == "resolved" else notification.severity.upper()


def describe(notification: Notification) -> str:
    """What happened where: ``memory leak on db-02 and 2 more servers``; an escalation or a
    repeat says so."""
    n = notification
    others = len([s for s in n.servers if s != n.origin])
    tail = f" and {others} more server{'s' if others != 1 else ''}" if others else ""
    note = {"escalated": " (escalated)", "repeat": " (still firing)"}.get(n.reason, "")
    return f"{pattern_words(n.pattern)} on {n.origin}{tail}{note}"


def headline(notification: Notification) -> str:
    """One line for people, the state first: ``CRITICAL: memory leak on db-02 and 2 more
    servers``, ``RESOLVED: …``."""
    return f"{state_word(notification)}: {describe(notification)}"


def number(value: float) -> str:
    """Shortest round-tripping text (``93.2``; ``93`` for a whole number)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def finite(value: float | None) -> float | None:
    """``value`` when it is a finite number (JSON has no NaN or infinity), else None."""
    return value if value is not None and math.isfinite(value) else None


def alert_line(alert: NotificationAlert) -> str:
    """``HighCPU on api-01 at 93.2`` (the alert's summary annotation when it has one)."""
    text = alert.annotations.get("summary")
    if not text:
        labels = alert.labels
        text = f"{labels.get('alertname', 'alert')} on {labels.get('server_id', '?')}"
        value = finite(alert.value)
        if value is not None:
            text += f" at {number(value)}"
    return text + (" (resolved)" if alert.status == "resolved" else "")


def clip(text: str, limit: int, *, utf16: bool = False) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when cut; never splits a
    character. ``utf16`` counts UTF-16 code units (how Discord measures: an emoji is two)."""
    size = utf16_len if utf16 else len
    if size(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - 1  # room for the ellipsis
    out, used = [], 0
    for char in text:
        width = size(char)
        if used + width > budget:
            break
        out.append(char)
        used += width
    return "".join(out).rstrip() + ELLIPSIS


def fit_list(
    items: Sequence[str], limit: int, *, sep: str, more: Callable[[int], str],
    max_items: int | None = None, utf16: bool = False,
) -> str:
    """As many whole ``items`` (at most ``max_items``) as fit in ``limit`` characters joined by
    ``sep``, then ``more(n)`` for the ``n`` left out (``… and 3 more servers``)."""
    size = utf16_len if utf16 else len
    best = clip(more(len(items)), limit, utf16=utf16) if items else ""
    used = 0
    for count, item in enumerate(items[:max_items], start=1):
        used += size(item) + (size(sep) if count > 1 else 0)
        if used > limit:
            break
        hidden = len(items) - count
        if used + (size(sep) + size(more(hidden)) if hidden else 0) <= limit:
            best = sep.join(items[:count]) + (sep + more(hidden) if hidden else "")
    return best


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how JavaScript, and Discord, count)."""
    return len(text.encode("utf-16-le")) // 2


def iso(epoch: int) -> str:
    return format_iso(epoch)


def ends_at(notification: Notification, alert: NotificationAlert) -> int | None:
    """When an alert ended: None while it fires; never before it started."""
    if alert.status != "resolved" and notification.status != "resolved":
        return None
    end = alert.ends_at if alert.ends_at is not None else (notification.ends_at or notification.at)
    return max(end, alert.starts_at)


# --- links ---------------------------------------------------------------------------------


class Links:
    """Links into the dashboard at ``ALERT_EXTERNAL_URL``; every one is ``""`` without it.

    The dashboard keeps its view, server and window in the query string; the parameter names
    are in this class only.
    """

    def __init__(self, external_url: str | None) -> None:
        self.base = (external_url or "").rstrip("/")

    def _link(self, params: list[tuple[str, str]]) -> str:
        return f"{self.base}/?{urlencode(params)}" if self.base else ""

    def group(self, n: Notification) -> str:
        """The notification's group in the alerts view."""
        return self._link([("view", "alerts"), ("group", n.group_key)])

    def generator(self, alert: NotificationAlert) -> str:
        """The alert in the alerts view (Prometheus links the rule that produced it)."""
        return self._link([("view", "alerts"), ("alert", alert.fingerprint)])

    def silence(self, alert: NotificationAlert) -> str:
        """A new silence prefilled with the alert's labels as matchers (Grafana's form)."""
        matchers = [("matcher", f"{k}={v}") for k, v in sorted(alert.labels.items())]
        return self._link([("view", "alerts"), ("silence", "new"), *matchers])

    def dashboard(self, n: Notification, alert: NotificationAlert) -> str:
        """The alert's server from an hour before it started to its end (or now), as Grafana
        sets ``from``/``to`` on its dashboard links."""
        server = alert.labels.get("server_id")
        if not server:
            return ""
        end = ends_at(n, alert)
        return self._link([("view", "server"), ("server", server),
                           ("from", iso(alert.starts_at - 3600)),
                           ("to", iso(end if end is not None else n.at))])

    def panel(self, n: Notification, alert: NotificationAlert) -> str:
        """The dashboard link narrowed to the alert's metric."""
        dashboard, metric = self.dashboard(n, alert), alert.labels.get("metric")
        return f"{dashboard}&{urlencode([('metric', metric)])}" if dashboard and metric else ""


# --- Alertmanager webhook v4 (+ Grafana) ---------------------------------------------------


def webhook_payload(
    notification: Notification,
    *,
    receiver: str = DEFAULT_RECEIVER,
    external_url: str | None = None,
) -> dict[str, Any]:
    """Alertmanager's webhook v4 message for ``notification``, with Grafana's extra fields.

    Keys and JSON types are Alertmanager's (checked against a real one in the tests), and each
    alert's labels and annotations are those ``alertmanager_alerts`` forwards, so Alertmanager's
    own webhook for them says the same. Maps are sorted by key, as Go writes them.
    ``groupLabels`` are the group's (``Notification.labels``); ``groupKey`` the engine's group
    key; ``commonLabels``/``commonAnnotations`` the pairs every alert shares; firing alerts end
    at ``0001-01-01T00:00:00Z``. Grafana's additions: ``orgId``, ``title``, ``state``
    (``alerting``/``ok``), ``message``, and per alert ``silenceURL``, ``dashboardURL``,
    ``panelURL``, ``values``, ``valueString``.
    """
    n, links = notification, Links(external_url)
    labels = [alert_labels(n, a) for a in n.alerts]
    return {
        "receiver": receiver,
        "status": n.status,
        "alerts": [_webhook_alert(n, a, links) for a in n.alerts],
        "groupLabels": _sorted(n.labels),
        "commonLabels": _common(labels) if labels else {GROUP_LABEL: n.group_key},
        "commonAnnotations": _common(alert_annotations(n, a) for a in n.alerts),
        "externalURL": links.base,
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
        "orgId": GRAFANA_ORG_ID,
        "title": title(n),
        "state": "ok" if n.status == "resolved" else "alerting",
        "message": message_text(n),
    }


def _webhook_alert(n: Notification, alert: NotificationAlert, links: Links) -> dict[str, Any]:
    end = ends_at(n, alert)
    value = finite(alert.value)
    var = alert.labels.get("metric") or "value"
    server = alert.labels.get("server_id")
    shown = f"server_id={server}" if server else ""
    return {
        "status": "resolved" if end is not None else "firing",
        "labels": alert_labels(n, alert),
        "annotations": alert_annotations(n, alert),
        "startsAt": iso(alert.starts_at),
        "endsAt": iso(end) if end is not None else ZERO_TIME,
        "generatorURL": links.generator(alert),
        "fingerprint": alert.fingerprint,
        "silenceURL": links.silence(alert),
        "dashboardURL": links.dashboard(n, alert),
        "panelURL": links.panel(n, alert),
        "values": {} if value is None else {var: value},
        "valueString": "" if value is None else
        f"[ var='{var}' labels={{{shown}}} value={number(value)} ]",
    }


def title(notification: Notification) -> str:
    """Grafana's ``title``: ``[FIRING:2] CRITICAL: memory leak on db-02 …`` (the number of
    firing alerts), ``[RESOLVED] memory leak on db-02 …``."""
    n = notification
    if n.status == "resolved":
        return f"[RESOLVED] {describe(n)}"
    return f"[FIRING:{sum(a.status == 'firing' for a in n.alerts)}] {headline(n)}"


def message_text(notification: Notification) -> str:
    """Grafana's ``message``: the summary, origin, pattern, servers and alerts in plain text."""
    n = notification
    lines = [
        n.summary or headline(n),
        f"Status: {n.status.upper()}  Severity: {n.severity}",
        f"Origin: {n.origin}  Pattern: {pattern_words(n.pattern)}",
        f"Affected servers ({len(n.servers)}): {', '.join(n.servers)}",
        f"Started: {iso(n.starts_at)}" + (f"  Ended: {iso(n.ends_at)}" if n.ends_at else ""),
    ]
    if n.alerts:
        lines.append("Alerts:")
        lines.extend(f"- {alert_line(a)}" for a in n.alerts)
    return "\n".join(lines)


# --- Alertmanager API v2 -------------------------------------------------------------------

# How long Alertmanager keeps a firing alert we forwarded without hearing of it again: longer
# than the engine's repeat interval (12 h by default), which re-sends it.
FIRING_HOLD = 24 * 3600


def alertmanager_alerts(
    notification: Notification, *, external_url: str | None = None
) -> list[dict[str, Any]]:
    """The body of ``POST /api/v2/alerts`` for ``notification``: one postable alert each.

    Labels are the alert's plus ``alert_group`` (so a route can ``group_by: [alert_group]``
    to get one notification per incident, as we send them); the group's origin and pattern
    are annotations. A firing alert is held until ``at + FIRING_HOLD`` (Alertmanager would
    otherwise drop it after its ``resolve_timeout``, 5 minutes by default, as we send a
    group again only when it escalates, repeats or resolves); a resolved one has ``endsAt``
    set to its end, which resolves it at once.
    """
    n, links = notification, Links(external_url)
    alerts = []
    for alert in n.alerts:
        item: dict[str, Any] = {
            "labels": alert_labels(n, alert),
            "annotations": alert_annotations(n, alert),
            "startsAt": iso(alert.starts_at),
        }
        end = ends_at(n, alert)
        item["endsAt"] = iso(end if end is not None else n.at + FIRING_HOLD)
        generator = links.generator(alert)
        if generator:
            item["generatorURL"] = generator
        alerts.append(item)
    return alerts


# --- helpers -------------------------------------------------------------------------------


def alert_labels(n: Notification, alert: NotificationAlert) -> dict[str, str]:
    """An alert's labels as both formats show them: the engine's plus ``alert_group`` (the
    group key, stable for the group's life: an Alertmanager route can ``group_by`` it)."""
    return _sorted({**alert.labels, GROUP_LABEL: n.group_key})


def alert_annotations(n: Notification, alert: NotificationAlert) -> dict[str, str]:
    """An alert's annotations plus the group's ``origin`` and ``pattern``, which the
    analysis may revise while the group lives (so they are not labels)."""
    return _sorted({**alert.annotations, "origin": n.origin, "pattern": n.pattern})



def _sorted(mapping: Mapping[str, str]) -> dict[str, str]:
    return {key: str(mapping[key]) for key in sorted(mapping)}


def _common(mappings: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The name/value pairs every mapping has (Alertmanager's commonLabels), sorted."""
    shared: dict[str, str] | None = None
    for mapping in mappings:
        pairs = {k: str(v) for k, v in mapping.items()}
        shared = pairs if shared is None else {
            k: v for k, v in shared.items() if pairs.get(k) == v
        }
    return _sorted(shared or {})

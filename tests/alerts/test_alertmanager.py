"""Against a real Alertmanager: our forwarded alerts arrive and resolve, and the webhook v4 it
sends for them has the keys and JSON types of ours (and the same values where it should)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from lib.alerts import Notification
from lib.alerts.channels import AlertmanagerChannel, WebhookChannel, alertmanager_alerts
from tests.alerts.samples import EXTERNAL, firing, resolved
from tests.services.alertmanager import WEBHOOK_PATH, AlertmanagerServer
from tests.services.receiver import Receiver, Request

OURS_PATH = "/ours"
# What Grafana's webhook adds to Alertmanager's message, at the top and in each alert.
GRAFANA_TOP = {"orgId": "number", "title": "string", "state": "string", "message": "string"}
GRAFANA_ALERT = {"silenceURL": "string", "dashboardURL": "string", "panelURL": "string",
                 "values": "object", "valueString": "string"}
# Values that differ by design between Alertmanager's message and ours: who receives, the
# group's key and labels (Alertmanager's are its route's group_by), who sends.
DIFFERENT = {"receiver", "groupKey", "externalURL", "groupLabels"}
KV_MAPS = {"labels", "annotations", "groupLabels", "commonLabels", "commonAnnotations"}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape(value: Any, key: str = "") -> Any:
    """The keys and JSON types of ``value`` at every level. An array's shape is its elements'
    (which must all have the same); a label or annotation map (Alertmanager's ``KV``, whose
    names are data, not schema) is ``map<string,string>`` once every value is a string."""
    if key in KV_MAPS:
        assert isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return "map<string,string>"
    if isinstance(value, dict):
        return {name: shape(item, name) for name, item in value.items()}
    if isinstance(value, list):
        shapes = [shape(item) for item in value]
        assert all(s == shapes[0] for s in shapes), "an array of mixed shapes"
        return ["array", shapes[0] if shapes else None]
    return _json_type(value)


def _alertmanagers_webhook(receiver: Receiver, key: str, status: str) -> dict[str, Any]:
    """Alertmanager's webhook for group ``key`` with ``status`` (waiting for it to arrive)."""
    def mine(request: Request) -> bool:
        body = request.json()
        return bool(body["commonLabels"].get("alert_group") == key and body["status"] == status)

    for count in range(1, 20):
        seen = [r for r in receiver.wait_for(count, WEBHOOK_PATH) if mine(r)]
        if seen:
            assert seen[0].headers["content-type"] == "application/json"
            assert seen[0].headers["user-agent"].startswith("Alertmanager/")
            body: dict[str, Any] = seen[0].json()
            return body
    raise AssertionError(f"no {status} webhook for {key}")


def _ours(receiver: Receiver, notification: Notification) -> dict[str, Any]:
    """Our webhook channel's payload for ``notification``, as the receiver got it."""
    with httpx.Client() as client:
        WebhookChannel(receiver.url + OURS_PATH, external_url=EXTERNAL, client=client).send(
            notification)
    body: dict[str, Any] = receiver.on(OURS_PATH)[-1].json()
    return body


def _forward(alertmanager: AlertmanagerServer, notification: Notification) -> None:
    with httpx.Client() as client:
        AlertmanagerChannel(alertmanager.url, external_url=EXTERNAL, client=client).send(
            notification)


def test_the_real_alertmanager_is_the_debian_one(alertmanager_server: AlertmanagerServer) -> None:
    assert alertmanager_server.version.startswith("0.")


def recent() -> int:
    """A start two minutes ago: a live Alertmanager keeps only alerts that have not ended."""
    return int(time.time()) - 240


def test_forwarded_alerts_show_up_and_resolve(alertmanager_server: AlertmanagerServer) -> None:
    key = "inc-forwarded0001"
    group = {"filter": f'alert_group="{key}"'}
    t0 = recent()
    _forward(alertmanager_server, firing(key, t0=t0))
    shown = sorted(alertmanager_server.alerts(**group), key=lambda a: a["startsAt"])
    sent = alertmanager_alerts(firing(key, t0=t0), external_url=EXTERNAL)
    assert [a["labels"] for a in shown] == [a["labels"] for a in sent]
    assert [a["annotations"] for a in shown] == [a["annotations"] for a in sent]
    assert [a["generatorURL"] for a in shown] == [a["generatorURL"] for a in sent]
    assert [_instant(a["startsAt"]) for a in shown] == [_instant(a["startsAt"]) for a in sent]
    assert {a["status"]["state"] for a in shown} == {"active"}
    assert {a["receivers"][0]["name"] for a in shown} == {"test-receiver"}

    held = {_instant(a["endsAt"]).timestamp() for a in shown}
    assert held == {t0 + 120 + 24 * 3600}  # held a day
    _forward(alertmanager_server, resolved(key, t0=t0, lasted=180))
    assert alertmanager_server.alerts(**group) == []


@pytest.mark.parametrize("status", ["firing", "resolved"])
def test_alertmanagers_webhook_has_our_keys_and_types(
    alertmanager_server: AlertmanagerServer, receiver: Receiver, status: str
) -> None:
    key = f"inc-compare-{status}"
    t0 = recent()
    _forward(alertmanager_server, firing(key, t0=t0))
    theirs = _alertmanagers_webhook(receiver, key, "firing")
    notification = firing(key, t0=t0)
    if status == "resolved":
        _forward(alertmanager_server, resolved(key, t0=t0, lasted=180))
        theirs = _alertmanagers_webhook(receiver, key, "resolved")
        notification = resolved(key, t0=t0, lasted=180)
    ours = _ours(receiver, notification)

    # Grafana's extra fields are ours alone, with Grafana's types
    extras = {k: ours.pop(k) for k in GRAFANA_TOP}
    assert {k: _json_type(v) for k, v in extras.items()} == GRAFANA_TOP
    for alert in ours["alerts"]:
        extra = {k: alert.pop(k) for k in GRAFANA_ALERT}
        assert {k: _json_type(v) for k, v in extra.items()} == GRAFANA_ALERT
        assert {_json_type(v) for v in extra["values"].values()} <= {"number"}

    # the rest: the same keys, in the same order, with the same JSON types at every level
    assert list(ours) == list(theirs)
    assert [list(a) for a in ours["alerts"]] == [list(a) for a in theirs["alerts"]]
    assert shape(ours) == shape(theirs)

    # and the same values, but for what names the receiver, the group and the sender
    for name in set(ours) - DIFFERENT - {"alerts"}:
        assert ours[name] == theirs[name], name
    by_labels = {tuple(a["labels"].items()): a for a in theirs["alerts"]}
    for alert in ours["alerts"]:
        their = by_labels[tuple(alert["labels"].items())]
        assert {k: v for k, v in alert.items() if k != "fingerprint"} == \
            {k: v for k, v in their.items() if k != "fingerprint"}
    assert theirs["groupLabels"] == {"alert_group": key}  # the test route's group_by
    assert ours["groupLabels"] == {"alertname": "FleetIncident", "origin": "db-02",
                                   "pattern": "memory_leak", "severity": "critical"}
    assert theirs["groupKey"] == f'{{}}:{{alert_group="{key}"}}'
    assert ours["groupKey"] == key


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception),
                                              ("", pytest.skip.Exception)])
def test_a_missing_alertmanager_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    import tests.services.alertmanager as fixture

    monkeypatch.setattr(fixture.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Debian package prometheus-alertmanager"):
        fixture.require_alertmanager()

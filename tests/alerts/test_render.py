"""The Alertmanager-format payloads and the shared text helpers, without HTTP."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lib.alerts.channels import alertmanager_alerts, webhook_payload
from lib.alerts.channels.render import ZERO_TIME, clip, headline, title, utf16_len
from tests.alerts.samples import API_FP, DB_FP, EXTERNAL, firing, resolved

# the engine's labels, sorted, with the group key added
DB_LABELS_SORTED = {"alert_group": "inc-0123456789abcdef", "alertname": "HighMemory",
                    "metric": "memory", "role": "db", "rule": "memory-static",
                    "server_id": "db-02", "severity": "critical"}
API_LABELS_SORTED = {"alert_group": "inc-0123456789abcdef", "alertname": "HighLatency",
                     "metric": "response_time", "role": "api", "rule": "latency-adaptive",
                     "server_id": "api-01", "severity": "warning"}
GROUP_ANNOTATIONS = {"origin": "db-02", "pattern": "memory_leak"}
DB_ANNOTATIONS = {**GROUP_ANNOTATIONS, "summary": "HighMemory on db-02 at 93.2"}
API_ANNOTATIONS = {**GROUP_ANNOTATIONS, "summary": "HighLatency on api-01 at 850"}
GROUP_LABELS = {"alertname": "FleetIncident", "origin": "db-02", "pattern": "memory_leak",
                "severity": "critical"}


def test_webhook_payload_of_a_firing_group_without_links() -> None:
    assert webhook_payload(firing()) == {
        "receiver": "fleet-metrics",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": DB_LABELS_SORTED,
             "annotations": DB_ANNOTATIONS,
             "startsAt": "2024-01-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": DB_FP, "silenceURL": "", "dashboardURL": "",
             "panelURL": "", "values": {"memory": 93.2},
             "valueString": "[ var='memory' labels={server_id=db-02} value=93.2 ]"},
            {"status": "firing", "labels": API_LABELS_SORTED,
             "annotations": API_ANNOTATIONS,
             "startsAt": "2024-01-02T09:01:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": API_FP, "silenceURL": "", "dashboardURL": "",
             "panelURL": "", "values": {"response_time": 850.0},
             "valueString": "[ var='response_time' labels={server_id=api-01} value=850 ]"},
        ],
        "groupLabels": GROUP_LABELS,
        "commonLabels": {"alert_group": "inc-0123456789abcdef"},
        "commonAnnotations": GROUP_ANNOTATIONS,
        "externalURL": "",
        "version": "4",
        "groupKey": "inc-0123456789abcdef",
        "truncatedAlerts": 0,
        "orgId": 1,
        "title": "[FIRING:2] CRITICAL: memory leak on db-02 and 1 more server",
        "state": "alerting",
        "message": "[CRITICAL] memory leak on db-02 and 1 more\n"
                   "Status: FIRING  Severity: critical\n"
                   "Origin: db-02  Pattern: memory leak\n"
                   "Affected servers (2): db-02, api-01\n"
                   "Started: 2024-01-02T09:00:00Z\n"
                   "Alerts:\n"
                   "- HighMemory on db-02 at 93.2\n"
                   "- HighLatency on api-01 at 850",
    }


def test_webhook_payload_of_a_resolved_group_with_links() -> None:
    payload = webhook_payload(resolved(), receiver="ops", external_url=EXTERNAL + "/")
    db, api = payload.pop("alerts")
    assert payload == {
        "receiver": "ops",
        "status": "resolved",
        "groupLabels": GROUP_LABELS,
        "commonLabels": {"alert_group": "inc-0123456789abcdef"},
        "commonAnnotations": GROUP_ANNOTATIONS,
        "externalURL": "https://fleet.example.com",
        "version": "4",
        "groupKey": "inc-0123456789abcdef",
        "truncatedAlerts": 0,
        "orgId": 1,
        "title": "[RESOLVED] memory leak on db-02 and 1 more server",
        "state": "ok",
        "message": "[RESOLVED] memory leak on db-02 and 1 more\n"
                   "Status: RESOLVED  Severity: critical\n"
                   "Origin: db-02  Pattern: memory leak\n"
                   "Affected servers (2): db-02, api-01\n"
                   "Started: 2024-01-02T09:00:00Z  Ended: 2024-01-02T09:30:00Z\n"
                   "Alerts:\n"
                   "- HighMemory on db-02 at 93.2 (resolved)\n"
                   "- HighLatency on api-01 at 850 (resolved)",
    }
    window = "from=2024-01-02T08%3A00%3A00Z&to=2024-01-02T09%3A30%3A00Z"
    assert db == {
        "status": "resolved", "labels": DB_LABELS_SORTED,
        "annotations": DB_ANNOTATIONS,
        "startsAt": "2024-01-02T09:00:00Z", "endsAt": "2024-01-02T09:30:00Z",
        "generatorURL": f"{EXTERNAL}/?view=alerts&alert={DB_FP}",
        "fingerprint": DB_FP,
        "silenceURL": f"{EXTERNAL}/?view=alerts&silence=new&matcher=alertname%3DHighMemory"
                      "&matcher=metric%3Dmemory&matcher=role%3Ddb&matcher=rule%3Dmemory-static"
                      "&matcher=server_id%3Ddb-02&matcher=severity%3Dcritical",
        "dashboardURL": f"{EXTERNAL}/?view=server&server=db-02&{window}",
        "panelURL": f"{EXTERNAL}/?view=server&server=db-02&{window}&metric=memory",
        "values": {"memory": 93.2},
        "valueString": "[ var='memory' labels={server_id=db-02} value=93.2 ]",
    }
    assert (api["status"], api["endsAt"], api["fingerprint"]) == \
        ("resolved", "2024-01-02T09:30:00Z", API_FP)
    assert api["dashboardURL"] == (f"{EXTERNAL}/?view=server&server=api-01"
                                   "&from=2024-01-02T08%3A01%3A00Z&to=2024-01-02T09%3A30%3A00Z")


def test_webhook_common_labels_are_the_pairs_every_alert_shares() -> None:
    base = firing()
    db, api = base.alerts
    same_role = replace(api, labels={**api.labels, "role": "db", "severity": "critical"},
                        annotations={"summary": "x", "runbook": "r"})
    db = replace(db, annotations={"summary": "y", "runbook": "r"})
    payload = webhook_payload(replace(base, alerts=(db, same_role)))
    assert payload["commonLabels"] == {"alert_group": "inc-0123456789abcdef", "role": "db",
                                       "severity": "critical"}
    assert payload["commonAnnotations"] == {**GROUP_ANNOTATIONS, "runbook": "r"}


def test_webhook_payload_of_a_group_that_lists_no_alert() -> None:
    # the engine resolves a group merged into another with no alerts of its own
    payload = webhook_payload(replace(resolved(), alerts=()))
    assert payload["alerts"] == []
    assert payload["commonLabels"] == {"alert_group": "inc-0123456789abcdef"}
    assert payload["commonAnnotations"] == {}
    assert payload["title"] == "[RESOLVED] memory leak on db-02 and 1 more server"


def test_webhook_values_leave_out_a_missing_or_non_finite_value() -> None:
    base = firing()
    for value in (None, float("nan"), float("inf")):
        alerts = (replace(base.alerts[0], value=value),)
        payload = webhook_payload(replace(base, alerts=alerts))
        assert payload["alerts"][0]["values"] == {}
        assert payload["alerts"][0]["valueString"] == ""
        json.dumps(payload, allow_nan=False)  # valid JSON


def test_alertmanager_alerts_of_a_firing_group() -> None:
    # held a day from the notification (09:02): Alertmanager must not resolve them on its own
    assert alertmanager_alerts(firing(), external_url=EXTERNAL) == [
        {"labels": DB_LABELS_SORTED, "annotations": DB_ANNOTATIONS,
         "startsAt": "2024-01-02T09:00:00Z", "endsAt": "2024-01-03T09:02:00Z",
         "generatorURL": f"{EXTERNAL}/?view=alerts&alert={DB_FP}"},
        {"labels": API_LABELS_SORTED, "annotations": API_ANNOTATIONS,
         "startsAt": "2024-01-02T09:01:00Z", "endsAt": "2024-01-03T09:02:00Z",
         "generatorURL": f"{EXTERNAL}/?view=alerts&alert={API_FP}"},
    ]


def test_alertmanager_alerts_of_a_resolved_group_end_them() -> None:
    alerts = alertmanager_alerts(resolved())
    assert [a["endsAt"] for a in alerts] == ["2024-01-02T09:30:00Z"] * 2
    assert [a["startsAt"] for a in alerts] == ["2024-01-02T09:00:00Z", "2024-01-02T09:01:00Z"]
    assert all("generatorURL" not in a for a in alerts)  # no ALERT_EXTERNAL_URL: no link


def test_an_end_before_the_start_is_clamped_to_the_start() -> None:
    # Alertmanager refuses endsAt < startsAt with a 400
    base = resolved()
    early = replace(base.alerts[1], ends_at=base.alerts[1].starts_at - 30)
    alerts = alertmanager_alerts(replace(base, alerts=(base.alerts[0], early)))
    assert alerts[1]["endsAt"] == alerts[1]["startsAt"] == "2024-01-02T09:01:00Z"


def test_firing_alerts_end_at_alertmanagers_zero_time() -> None:
    assert {a["endsAt"] for a in webhook_payload(firing())["alerts"]} == {ZERO_TIME}


@pytest.mark.parametrize(("change", "expected"), [
    ({}, "CRITICAL: memory leak on db-02 and 1 more server"),
    ({"severity": "warning", "reason": "escalated"},
     "WARNING: memory leak on db-02 and 1 more server (escalated)"),
    ({"reason": "repeat", "servers": ("db-02",)}, "CRITICAL: memory leak on db-02 (still firing)"),
    ({"pattern": "unknown", "servers": ("db-02", "a", "b")},
     "CRITICAL: anomaly (pattern unknown) on db-02 and 2 more servers"),
    ({"status": "resolved", "reason": "resolved"},
     "RESOLVED: memory leak on db-02 and 1 more server"),
])
def test_headline_says_the_state_in_words(change: dict[str, object], expected: str) -> None:
    assert headline(replace(firing(), **change)) == expected  # type: ignore[arg-type]


def test_title_counts_only_firing_alerts() -> None:
    base = firing()
    mixed = (base.alerts[0], replace(base.alerts[1], status="resolved", ends_at=base.at))
    assert title(replace(base, alerts=mixed)).startswith("[FIRING:1] CRITICAL: ")


@pytest.mark.parametrize(("text", "limit", "utf16", "expected"), [
    ("abcdef", 6, False, "abcdef"),
    ("abcdefg", 6, False, "abcde…"),
    ("ab cdefg", 4, False, "ab…"),
    ("🔴🔴🔴", 3, False, "🔴🔴🔴"),
    ("🔴🔴🔴", 5, True, "🔴🔴…"),   # each emoji is two UTF-16 units
    ("🔴🔴🔴", 4, True, "🔴…"),     # never half an emoji
    ("abc", 0, False, ""),
])
def test_clip_cuts_whole_characters(text: str, limit: int, utf16: bool, expected: str) -> None:
    clipped = clip(text, limit, utf16=utf16)
    assert clipped == expected
    assert (utf16_len(clipped) if utf16 else len(clipped)) <= limit

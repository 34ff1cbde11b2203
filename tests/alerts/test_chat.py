"""The Slack and Discord messages, without HTTP: exact payloads, words for the state, limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lib.alerts import NotificationAlert
from lib.alerts.channels import discord_payload, slack_payload
from lib.alerts.channels.chat import DISCORD_LIMITS, SLACK_LIMITS
from lib.alerts.channels.render import utf16_len
from tests.alerts.samples import EXTERNAL, T0, firing, resolved

GROUP_LINK = f"{EXTERNAL}/?view=alerts&group=inc-0123456789abcdef"


def _slack_date(epoch: int, text: str) -> str:
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{text}>"


def test_slack_message_of_a_firing_group() -> None:
    assert slack_payload(firing(), external_url=EXTERNAL) == {
        "text": "🔴 CRITICAL: memory leak on db-02 and 1 more server",
        "blocks": [
            {"type": "header", "text": {
                "type": "plain_text", "emoji": True,
                "text": "🔴 CRITICAL: memory leak on db-02 and 1 more server"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": "*Status*\nFIRING"},
                {"type": "mrkdwn", "text": "*Severity*\nCRITICAL"},
                {"type": "mrkdwn", "text": "*Origin*\n`db-02`"},
                {"type": "mrkdwn", "text": "*Pattern*\nmemory leak"},
                {"type": "mrkdwn",
                 "text": "*Started*\n" + _slack_date(T0, "2024-01-02T09:00:00Z")},
            ]},
            {"type": "section", "text": {
                "type": "mrkdwn", "text": "*Affected servers (2)*\n`db-02` (origin), `api-01`"}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": "*Alerts*\n• HighMemory on db-02 at 93.2\n"
                                                 "• HighLatency on api-01 at 850"}},
            {"type": "context", "elements": [{
                "type": "mrkdwn",
                "text": "group `inc-0123456789abcdef` · notification 1 · 2024-01-02T09:02:00Z"}]},
            {"type": "actions", "elements": [{
                "type": "button", "text": {"type": "plain_text", "text": "Open in the dashboard"},
                "url": GROUP_LINK}]},
        ],
    }


def test_slack_message_of_a_resolved_group_says_resolved() -> None:
    payload = slack_payload(resolved())  # no ALERT_EXTERNAL_URL: no button
    assert payload["text"] == "✅ RESOLVED: memory leak on db-02 and 1 more server"
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context"]
    assert blocks[0]["text"]["text"] == "✅ RESOLVED: memory leak on db-02 and 1 more server"
    assert [f["text"] for f in blocks[1]["fields"]] == [
        "*Status*\nRESOLVED", "*Severity*\nCRITICAL", "*Origin*\n`db-02`",
        "*Pattern*\nmemory leak", "*Started*\n" + _slack_date(T0, "2024-01-02T09:00:00Z"),
        "*Resolved*\n" + _slack_date(T0 + 1800, "2024-01-02T09:30:00Z"),
    ]
    assert blocks[3]["text"]["text"] == ("*Alerts*\n• HighMemory on db-02 at 93.2 (resolved)\n"
                                         "• HighLatency on api-01 at 850 (resolved)")


def test_slack_escapes_its_control_characters() -> None:
    odd = replace(firing(), origin="<!channel>&", servers=("<!channel>&",))
    payload = slack_payload(odd)
    assert payload["text"] == "🔴 CRITICAL: memory leak on &lt;!channel&gt;&amp;"
    assert payload["blocks"][2]["text"]["text"] == \
        "*Affected servers (1)*\n`&lt;!channel&gt;&amp;` (origin)"
    assert payload["blocks"][0]["text"]["text"] == "🔴 CRITICAL: memory leak on <!channel>&"


def test_discord_message_of_a_firing_group() -> None:
    assert discord_payload(firing(), external_url=EXTERNAL) == {
        "username": "Fleet alerts",
        "content": "**CRITICAL**: memory leak on db-02 and 1 more server",
        "embeds": [{
            "title": "🔴 CRITICAL: memory leak on db-02 and 1 more server",
            "description": "• HighMemory on db-02 at 93.2\n• HighLatency on api-01 at 850",
            "url": GROUP_LINK,
            "color": 0xD0021B,
            "fields": [
                {"name": "Status", "value": "FIRING", "inline": True},
                {"name": "Severity", "value": "CRITICAL", "inline": True},
                {"name": "Origin", "value": "`db-02`", "inline": True},
                {"name": "Pattern", "value": "memory leak", "inline": True},
                {"name": "Started", "value": f"<t:{T0}:f>", "inline": True},
                {"name": "Affected servers (2)", "value": "`db-02` (origin), `api-01`",
                 "inline": False},
            ],
            "footer": {"text": "group inc-0123456789abcdef · notification 1"},
            "timestamp": "2024-01-02T09:02:00Z",
        }],
        "allowed_mentions": {"parse": []},
    }


def test_discord_message_of_a_resolved_group_says_resolved() -> None:
    payload = discord_payload(replace(resolved(), severity="warning"))
    embed = payload["embeds"][0]
    assert payload["content"] == "**RESOLVED**: memory leak on db-02 and 1 more server"
    assert embed["title"] == "✅ RESOLVED: memory leak on db-02 and 1 more server"
    assert embed["color"] == 0x2EB67D
    assert "url" not in embed
    assert [(f["name"], f["value"]) for f in embed["fields"]][:2] == \
        [("Status", "RESOLVED"), ("Severity", "WARNING")]
    assert embed["fields"][5] == {"name": "Resolved", "value": f"<t:{T0 + 1800}:f>",
                                  "inline": True}


def test_discord_leaves_out_an_empty_description() -> None:
    embed = discord_payload(replace(resolved(), alerts=()))["embeds"][0]
    assert "description" not in embed


def _huge(n_servers: int = 300) -> Any:
    """A group far past every limit: long server names, one alert on each, emoji in the text."""
    servers = tuple(f"server-{'x' * 40}-{i:03d}" for i in range(n_servers))
    alerts = tuple(
        NotificationAlert(f"{i:016x}", "firing", {"alertname": "HighCPU", "server_id": s},
                          {"summary": f"🔥 HighCPU on {s} at 99 " + "y" * 200}, T0, None, 99.0)
        for i, s in enumerate(servers))
    return replace(firing(), origin=servers[0], servers=servers, alerts=alerts,
                   pattern="cascade_failure_" + "z" * 2100)


def _embed_total(embed: dict[str, Any]) -> int:
    parts = [embed["title"], embed.get("description", ""), embed["footer"]["text"]]
    parts += [p for f in embed["fields"] for p in (f["name"], f["value"])]
    return sum(utf16_len(p) for p in parts)


def test_discord_stays_within_discords_limits() -> None:
    payload = discord_payload(_huge(), external_url=EXTERNAL)
    embed = payload["embeds"][0]
    assert utf16_len(payload["content"]) <= DISCORD_LIMITS["content"]
    assert payload["content"].startswith("**CRITICAL**: cascade failure ")
    assert payload["content"].endswith("…")
    assert utf16_len(embed["title"]) <= DISCORD_LIMITS["title"]
    assert utf16_len(embed["description"]) <= DISCORD_LIMITS["description"]
    assert len(embed["fields"]) <= DISCORD_LIMITS["fields"]
    assert all(utf16_len(f["value"]) <= DISCORD_LIMITS["field_value"] and f["value"]
               for f in embed["fields"])
    assert _embed_total(embed) <= DISCORD_LIMITS["embed_total"]
    servers = embed["fields"][-1]
    assert servers["name"] == "Affected servers (300)"
    assert servers["value"].startswith(f"`server-{'x' * 40}-000` (origin), ")
    assert servers["value"].endswith("-017`, … and 282 more servers")  # whole names only
    lines = embed["description"].split("\n")  # whole alert lines, then the rest counted
    assert 2 <= len(lines) <= 21
    assert all(line.startswith("• 🔥 HighCPU on server-") for line in lines[:-1])
    assert lines[-1] == f"… and {300 - (len(lines) - 1)} more alerts"


def test_slack_stays_within_slacks_limits() -> None:
    payload = slack_payload(_huge(), external_url=EXTERNAL)
    blocks = payload["blocks"]
    assert len(blocks) <= SLACK_LIMITS["blocks"]
    assert len(blocks[0]["text"]["text"]) <= SLACK_LIMITS["header"]
    assert blocks[0]["text"]["text"].startswith("🔴 CRITICAL: cascade failure ")
    assert all(len(f["text"]) <= SLACK_LIMITS["field"] for f in blocks[1]["fields"])
    for block in blocks[2:4]:
        assert len(block["text"]["text"]) <= SLACK_LIMITS["section"]
    assert blocks[2]["text"]["text"].startswith("*Affected servers (300)*\n")
    assert blocks[2]["text"]["text"].endswith("-052`, … and 247 more servers")
    lines = blocks[3]["text"]["text"].split("\n")
    assert lines[0] == "*Alerts*"
    assert all(line.startswith("• 🔥 HighCPU on server-") for line in lines[1:-1])
    assert lines[-1] == f"… and {300 - (len(lines) - 2)} more alerts"

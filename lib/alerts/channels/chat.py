"""Messages for people: a Slack incoming webhook and a Discord webhook; pure, no HTTP.

Both lead with the state in words (``CRITICAL``, ``WARNING``, ``RESOLVED``; colour and emoji
only repeat it), name the origin and the pattern, list the affected servers (origin first)
and the alerts, and stay within the service's limits: lists keep whole entries and count the
rest (``… and 12 more servers``), other text is cut with an ellipsis (``clip``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model import Notification
from .render import (
    Links,
    alert_line,
    clip,
    describe,
    fit_list,
    headline,
    iso,
    pattern_words,
    state_word,
    utf16_len,
)

__all__ = ["DISCORD_LIMITS", "SLACK_LIMITS", "discord_payload", "slack_payload"]

# Slack Block Kit: a header's text, a section's text, a section field, blocks per message.
SLACK_LIMITS = {"header": 150, "section": 3000, "field": 2000, "blocks": 50, "text": 3000}
# Discord (UTF-16 code units): message content, and an embed's parts and total.
DISCORD_LIMITS = {"content": 2000, "title": 256, "description": 4096, "field_name": 256,
                  "field_value": 1024, "fields": 25, "footer": 2048, "embed_total": 6000}
MAX_ALERT_LINES = 20    # alerts listed one per line at most; the rest are counted
MAX_LINE = 300          # characters of one alert's line
DISCORD_USERNAME = "Fleet alerts"

_EMOJI = {"critical": "🔴", "warning": "🟠", "resolved": "✅"}
_DISCORD_COLOUR = {"critical": 0xD0021B, "warning": 0xF5A623, "resolved": 0x2EB67D}


def _tone(n: Notification) -> str:
    return "resolved" if n.status == "resolved" else n.severity


def _more(what: str) -> Callable[[int], str]:
    """``… and 3 more servers`` for a list that shows only part of its entries."""
    return lambda hidden: f"… and {hidden} more {what}{'s' if hidden != 1 else ''}"


def _alerts_text(
    n: Notification, limit: int, *, escape: Callable[[str], str] = str, utf16: bool = False
) -> str:
    """One ``• line`` per alert (at most MAX_ALERT_LINES), within ``limit``."""
    lines = [clip(f"• {escape(alert_line(a))}", MAX_LINE) for a in n.alerts]
    return fit_list(lines, limit, sep="\n", more=_more("alert"), max_items=MAX_ALERT_LINES,
                    utf16=utf16)


def _facts(
    n: Notification, code: Callable[[str], str], date: Callable[[int], str],
    text: Callable[[str], str] = str,
) -> list[tuple[str, str]]:
    """Status, severity, origin, pattern, start (and end) in words."""
    facts = [
        ("Status", "RESOLVED" if n.status == "resolved" else "FIRING"),
        ("Severity", n.severity.upper()),
        ("Origin", code(n.origin)),
        ("Pattern", text(pattern_words(n.pattern))),
        ("Started", date(n.starts_at)),
    ]
    if n.status == "resolved":
        facts.append(("Resolved", date(n.ends_at) if n.ends_at else "—"))
    return facts


# --- Slack ---------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (a server name must not open a link or mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_code(text: str) -> str:
    return "`" + _slack_escape(text).replace("`", "'") + "`"


def _slack_date(epoch: int) -> str:
    """A date Slack shows in each reader's time zone, with the UTC ISO text as fallback."""
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{iso(epoch)}>"


def slack_payload(notification: Notification, *, external_url: str | None = None) -> dict[str, Any]:
    """An incoming-webhook message: ``text`` (what notifications and old clients show) and
    ``blocks`` (a header, the facts as fields, the servers, the alerts, the group, a link)."""
    n, limits = notification, SLACK_LIMITS
    title = f"{_EMOJI[_tone(n)]} {headline(n)}"
    facts = _facts(n, _slack_code, _slack_date, _slack_escape)
    heading = f"*Affected servers ({len(n.servers)})*\n"
    servers = [_slack_code(s) + (" (origin)" if s == n.origin else "") for s in n.servers]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": clip(title, limits["header"])}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*{name}*\n{value}", limits["field"])}
            for name, value in facts]},
        {"type": "section", "text": {"type": "mrkdwn", "text": heading + fit_list(
            servers, limits["section"] - len(heading), sep=", ", more=_more("server"))}},
    ]
    if n.alerts:
        text = "*Alerts*\n" + _alerts_text(n, limits["section"] - 9, escape=_slack_escape)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    context = f"group {_slack_code(n.group_key)} · notification {n.seq} · {iso(n.at)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    link = Links(external_url).group(n)
    if link:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open in the dashboard"},
            "url": link}]})
    return {"text": clip(_slack_escape(title), limits["text"]), "blocks": blocks}


# --- Discord -------------------------------------------------------------------------------


def _discord_code(text: str) -> str:
    """Inline code, which Discord renders without markdown (backticks replaced inside)."""
    return "`" + text.replace("`", "'") + "`"


def _discord_date(epoch: int) -> str:
    """A timestamp Discord shows in each reader's time zone."""
    return f"<t:{epoch}:f>"


def discord_payload(
    notification: Notification, *, external_url: str | None = None
) -> dict[str, Any]:
    """An execute-webhook body: ``content`` with the state in bold and one embed with the
    facts; mentions disabled (``allowed_mentions``) so no text can ping ``@everyone``."""
    n, limits, tone = notification, DISCORD_LIMITS, _tone(notification)
    servers = [_discord_code(s) + (" (origin)" if s == n.origin else "") for s in n.servers]
    fields = [(name, value, True) for name, value in _facts(n, _discord_code, _discord_date)]
    fields.append((f"Affected servers ({len(n.servers)})",
                   fit_list(servers, limits["field_value"], sep=", ", more=_more("server"),
                            utf16=True) or "—", False))
    embed: dict[str, Any] = {
        "title": clip(f"{_EMOJI[tone]} {headline(n)}", limits["title"], utf16=True)}
    link = Links(external_url).group(n)
    if link:
        embed["url"] = link
    embed.update({
        "color": _DISCORD_COLOUR[tone],
        "fields": [{"name": clip(name, limits["field_name"], utf16=True),
                    "value": clip(value, limits["field_value"], utf16=True), "inline": inline}
                   for name, value, inline in fields[: limits["fields"]]],
        "footer": {"text": clip(f"group {n.group_key} · notification {n.seq}",
                                limits["footer"], utf16=True)},
        "timestamp": iso(n.at),
    })
    room = min(limits["description"], limits["embed_total"] - _embed_size(embed))
    description = _alerts_text(n, room, utf16=True)
    if description:  # Discord refuses an empty description
        embed["description"] = description
    return {
        "username": DISCORD_USERNAME,
        "content": clip(f"**{state_word(n)}**: {describe(n)}", limits["content"], utf16=True),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def _embed_size(embed: dict[str, Any]) -> int:
    """Discord's count: title, description, field names and values, footer text."""
    parts = [embed.get("title", ""), embed.get("description", ""),
             embed.get("footer", {}).get("text", "")]
    parts += [p for f in embed.get("fields", []) for p in (f["name"], f["value"])]
    return sum(utf16_len(p) for p in parts)

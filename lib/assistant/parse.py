"""Questions in Korean or English (mixed is fine) → an intent and its entities.

No language model: keyword and pattern rules, deterministic and testable. The intents:

* ``server_health`` — "is db-02 ok?", "db-02 상태 어때?"
* ``server_why`` — "why is api-03 slow?", "api-03 왜 느려?"
* ``what_happened`` — "what happened yesterday between 14:00 and 16:00?", "어제 오후 2시에 무슨
  일이 있었어?"
* ``at_risk`` — which servers the forecasts say will cross a threshold
* ``fleet_summary`` — the fleet's status counts and its least healthy servers
* ``top_consumers`` — the servers using the most of a metric
* ``unknown_server`` — a server name this fleet does not have
* ``help`` — anything else: what can be asked

Server names match leniently (case, ``DB-EU-002`` / ``db-eu-002``, "db 2", "디비 2"); two
matches are an ambiguity the answer lists. Relative times resolve in the fleet's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["INTENTS", "MAX_QUESTION", "Question", "parse_question"]

MAX_QUESTION = 500
INTENTS = ("server_health", "server_why", "what_happened", "at_risk", "fleet_summary",
           "top_consumers", "unknown_server", "help")

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_ROLES = {"web": "web", "api": "api", "db": "db", "database": "db", "cache": "cache",
          "redis": "cache", "worker": "worker", "웹": "web", "디비": "db", "데이터베이스": "db",
          "캐시": "cache", "워커": "worker"}
_METRICS = [
    ("response_time", ("latency", "response", "slow", "응답", "지연", "레이턴시", "느려", "느린")),
    ("memory", ("memory", "mem", "ram", "메모리", "램")),
    ("disk", ("disk", "storage", "디스크", "저장")),
    ("network", ("network", "traffic", "bandwidth", "네트워크", "트래픽")),
    ("cpu", ("cpu", "processor", "씨피유", "프로세서")),
]
_WHY = ("why", "cause", "what's wrong", "whats wrong", "what is wrong", "reason", "왜",
        "원인", "이유")
_HAPPENED = ("what happened", "happen", "happened", "incident", "incidents", "outage",
             "outages", "무슨 일", "일이 있었", "사건", "장애", "인시던트", "무슨일")
_RISK = ("at risk", "risk", "will fail", "run out", "forecast", "going to", "soon", "위험",
         "예측", "곧", "임박")
_TOP = ("top", "most", "highest", "busiest", "heaviest", "biggest", "가장", "제일", "상위",
        "많이")
_HEALTH = ("ok", "okay", "health", "status", "problem", "fine", "doing", "alright", "wrong",
           "상태", "괜찮", "문제", "어때", "건강", "정상")
_FLEET = ("summary", "overview", "fleet", "all servers", "everything", "how are", "overall",
          "요약", "전체", "현황", "모든 서버", "전반")


@dataclass(frozen=True)
class Question:
    """What a question asks: ``intent``, the ``language`` to answer in (``en``/``ko``), and
    the entities — ``servers`` named (several: ambiguous), ``metric``, and a window
    ``start``/``end`` (epoch seconds) for ``what_happened``."""

    text: str
    language: str
    intent: str
    servers: tuple[str, ...] = ()
    metric: str | None = None
    start: int | None = None
    end: int | None = None
    window_label: str | None = None
    entities: dict[str, object] = field(default_factory=dict)


def parse_question(text: str, server_ids: Sequence[str], now: int, timezone: str
                   ) -> Question:
    """The intent and entities of ``text``; ``now`` and ``timezone`` resolve relative times."""
    language = "ko" if _HANGUL.search(text) else "en"
    low = " ".join(text.lower().split())
    servers = _servers(low, server_ids)
    metric = _metric(low)
    intent = _intent(low, servers, metric)
    start = end = None
    label = None
    if intent == "what_happened":
        start, end, label = _window(low, now, ZoneInfo(timezone))
    if intent == "top_consumers" and metric is None:
        metric = "cpu"
    entities: dict[str, object] = {}
    if servers:
        entities["serverId"] = servers[0] if len(servers) == 1 else list(servers)
    elif intent in ("server_health", "server_why", "fleet_summary", "help"):
        unknown = re.search(r"\b((?:web|api|db|cache|worker)[a-z0-9\-]*\d)\b", low)
        if unknown:  # names a server this fleet does not have
            intent = "unknown_server"
            entities["serverId"] = unknown.group(1)
    if metric is not None and intent in ("top_consumers", "server_health", "server_why"):
        entities["metric"] = metric
    if start is not None and end is not None:
        entities["window"] = {"start": start, "end": end}
    return Question(text, language, intent, servers, metric, start, end, label, entities)


def _has(text: str, words: Sequence[str]) -> bool:
    for word in words:
        if word.isascii() and word.replace(" ", "").replace("'", "").isalpha():
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text):
                return True
        elif word in text:
            return True
    return False


def _intent(text: str, servers: tuple[str, ...], metric: str | None) -> str:
    if servers and _has(text, _WHY):
        return "server_why"
    if _has(text, _HAPPENED) or (_has(text, ("what", "뭐", "무슨")) and _has(
            text, ("yesterday", "today", "last", "어제", "오늘", "지난", "between", "시"))
            and not servers):
        return "what_happened"
    if _has(text, _RISK):
        return "at_risk"
    if _has(text, _TOP) and not servers:
        return "top_consumers"
    if servers:
        if metric == "response_time" and _has(text, ("slow", "느려", "느린", "느리")):
            return "server_why"
        return "server_health"
    if _has(text, _FLEET) or _has(text, _HEALTH):
        return "fleet_summary"
    return "help"


# --- servers --------------------------------------------------------------------------------


def _servers(text: str, server_ids: Sequence[str]) -> tuple[str, ...]:
    ids = {sid.lower(): sid for sid in server_ids}
    exact = [ids[m] for m in re.findall(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+", text) if m in ids]
    if exact:
        return tuple(dict.fromkeys(exact))
    roles = "|".join(sorted(map(re.escape, _ROLES), key=len, reverse=True))
    found: list[str] = []
    for role_word, region, number in re.findall(
            rf"({roles})[\s\-_]*(?:([a-z]{{2,3}})[\s\-_]*)?0*(\d{{1,3}})(?!\d)", text):
        role = _ROLES[role_word]
        for sid in server_ids:
            parts = sid.lower().split("-")
            if parts[0] == role and int(parts[-1]) == int(number) and (
                    not region or region in parts[1:-1]):
                found.append(sid)
    return tuple(dict.fromkeys(found))


def _metric(text: str) -> str | None:
    for metric, words in _METRICS:
        if _has(text, words):
            return metric
    return None


# --- time -----------------------------------------------------------------------------------

_CLOCK = r"(오전|오후|am|pm)?\s*(\d{1,2})(?::(\d{2}))?\s*(시|am|pm|h)?(?:\s*(\d{1,2})\s*분)?"


def _window(text: str, now: int, zone: ZoneInfo) -> tuple[int, int, str]:
    """[start, end) of the question, in epoch seconds, and how it was read."""
    local = datetime.fromtimestamp(now, zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    label_day = "today"
    if _has(text, ("yesterday", "어제")):
        day -= timedelta(days=1)
        label_day = "yesterday"
    elif _has(text, ("today", "오늘")):
        label_day = "today"
    hours = re.search(r"(?:last|past|지난|최근)\s*(\d{1,3})\s*(?:hours?|hrs?|h|시간)", text)
    if hours:
        n = int(hours.group(1))
        return now - n * 3600, now, f"the last {n} hours"
    if re.search(r"(?:last|past)\s+hour|지난\s*한\s*시간|최근\s*한\s*시간", text):
        return now - 3600, now, "the last hour"
    times = [m for m in re.finditer(_CLOCK, text) if _is_clock(m)]
    if len(times) >= 2 and _has(text, ("between", "and", "from", "to", "부터", "까지", "에서",
                                        "~", "-")):
        lo, hi = _at(day, times[0]), _at(day, times[1], after=times[0])
        if hi > lo:
            return int(lo.timestamp()), int(hi.timestamp()), f"{label_day} {_hm(lo)}–{_hm(hi)}"
    if times:
        lo = _at(day, times[0])
        hi = lo + timedelta(hours=1)
        return int(lo.timestamp()), int(hi.timestamp()), f"{label_day} {_hm(lo)}–{_hm(hi)}"
    if label_day == "yesterday" or _has(text, ("today", "오늘")):
        end = min(day + timedelta(days=1), local)
        return int(day.timestamp()), int(end.timestamp()), label_day
    return now - 86_400, now, "the last 24 hours"


def _is_clock(m: re.Match[str]) -> bool:
    meridiem, hour, minute, unit = m.group(1), m.group(2), m.group(3), m.group(4)
    return int(hour) <= 24 and (meridiem is not None or minute is not None or unit is not None)


def _at(day: datetime, m: re.Match[str], after: re.Match[str] | None = None) -> datetime:
    meridiem, hour, minute = m.group(1), int(m.group(2)), int(m.group(3) or m.group(5) or 0)
    meridiem = meridiem or (after.group(1) if after is not None else None)
    if meridiem in ("오후", "pm") and hour < 12:
        hour += 12
    if meridiem in ("오전", "am") and hour == 12:
        hour = 0
    return day + timedelta(hours=hour, minutes=minute)


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")

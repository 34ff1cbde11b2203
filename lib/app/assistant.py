"""``GET /api/ask`` and the MCP ``ask`` tool: a plain-language question answered with the
numbers of the other endpoints at the same instant.

The question is parsed by lib.assistant (intent and entities); the facts come from the
same use cases as ``/api/monitoring/servers``, ``/api/analysis/servers`` and
``/api/analysis/incidents`` — called with the same instant, so every number of an answer
equals what those endpoints return. ``facts`` carries the data behind each number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from lib.assistant import MAX_QUESTION, Question, parse_question
from lib.cache import Cache
from lib.collectors import Collector
from lib.core import InvalidParameter, RangeError, Settings, format_iso, parse_instant
from lib.sim import MIN_STEP
from lib.store import MetricStore

from .analysis import analyzed_incidents, servers_analysis
from .live import servers_snapshot
from .params import echo, optional_instant
from .results import Result

__all__ = ["answer_question"]

TOP_N = 5
RISK_HORIZON = 24 * 3600   # a forecast crossing within this long puts a server at risk
_METRIC_NAMES = {"en": {"cpu": "CPU", "memory": "memory", "disk": "disk",
                        "response_time": "response time", "network": "network"},
                 "ko": {"cpu": "CPU", "memory": "메모리", "disk": "디스크",
                        "response_time": "응답 시간", "network": "네트워크"}}
_STATUS = {"en": {"healthy": "healthy", "warning": "warning", "critical": "critical",
                  "offline": "offline"},
           "ko": {"healthy": "정상", "warning": "경고", "critical": "위험", "offline": "오프라인"}}


class _Backends:
    """What an answer reads, at ``instant``: ``at`` is None for now (the live view)."""

    def __init__(self, store: MetricStore, collector: Collector, hot: Cache, warm: Cache,
                 settings: Settings, now: int, instant: int, live: bool,
                 server_ids: list[str]) -> None:
        self.store, self.collector, self.hot, self.warm = store, collector, hot, warm
        self.settings, self.now, self.instant = settings, now, instant
        self.at = None if live else format_iso(instant)
        self.server_ids = server_ids

    def snapshot(self) -> dict[str, Any]:
        return servers_snapshot(self.collector, self.hot, self.warm, self.settings, self.now,
                                at=self.at, server_id=None).payload

    def analysis(self) -> dict[str, Any]:
        return servers_analysis(self.store, self.collector, self.hot, self.warm, self.now,
                                at=self.at).payload

    def incidents(self, start: int, end: int) -> dict[str, Any]:
        return analyzed_incidents(self.store, self.collector, self.hot, self.warm, self.now,
                                  start=format_iso(start), end=format_iso(end)).payload


def answer_question(
    store: MetricStore, collector: Collector, hot: Cache, warm: Cache, settings: Settings,
    now: int, *, q: str | None, at: str | None,
) -> Result:
    """``{question, language, intent, entities, answer, facts, at}`` for the question ``q``
    at ``at`` (default: now)."""
    if q is None or not q.strip():
        raise InvalidParameter("q", "ask a question, e.g. q=is db-01 ok?")
    if len(q) > MAX_QUESTION:
        raise InvalidParameter("q", f"a question has at most {MAX_QUESTION} characters")
    moment = optional_instant(at, "at")
    if moment is not None and moment > now + MIN_STEP:
        raise RangeError("at", "must not be in the future")
    instant = min(now if moment is None else moment, now)
    ids = [t.id for t in collector.servers()]
    question = parse_question(q, ids, instant, settings.fleet_timezone)
    b = _Backends(store, collector, hot, warm, settings, now, instant, moment is None, ids)
    text, facts = _ANSWERS[question.intent](question, b)
    entities = {k: (format_iso(v) if isinstance(v, int) else v)
                for k, v in question.entities.items() if k != "window"}
    if question.start is not None and question.end is not None:
        entities["window"] = {"start": format_iso(question.start),
                              "end": format_iso(question.end), "read_as": question.window_label}
    return Result({"question": q, "language": question.language, "intent": question.intent,
                   "entities": entities, "answer": text, "facts": facts,
                   "at": format_iso(instant)},
                  collector.source, "live" if moment is None else "past")


# --- one answer per intent ----------------------------------------------------------------

Answer = tuple[str, dict[str, Any]]


def _say(q: Question, en: str, ko: str) -> str:
    return ko if q.language == "ko" else en


def _ambiguous(q: Question) -> Answer:
    names = ", ".join(q.servers)
    return (_say(q, f"Which server do you mean: {names}?",
                 f"어느 서버를 말씀하시나요: {names}?"), {"candidates": list(q.servers)})


def _server_facts(b: _Backends, server_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    live = next(s for s in b.snapshot()["servers"] if s["id"] == server_id)
    analysis = next(s for s in b.analysis()["servers"] if s["server_id"] == server_id)
    return live, analysis


def _values(live: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": live["status"], "cpu": live["cpu"]["usage"],
            "memory": live["memory"]["usage"], "disk": live["disk"]["usage"],
            "response_time": live["responseTime"], "lastChecked": live["lastChecked"]}


def _numbers(q: Question, v: Mapping[str, Any]) -> str:
    n = _METRIC_NAMES[q.language]
    rt = "—" if v["response_time"] is None else f"{v['response_time']} ms"
    return (f"CPU {v['cpu']:.1f}%, {n['memory']} {v['memory']:.1f}%, {n['disk']} "
            f"{v['disk']:.1f}%, {n['response_time']} {rt}")


def _server_health(q: Question, b: _Backends) -> Answer:
    if len(q.servers) > 1:
        return _ambiguous(q)
    sid = q.servers[0]
    live, analysis = _server_facts(b, sid)
    values = _values(live)
    status = _STATUS[q.language][values["status"]]
    health = analysis["health"]
    anomalies = [a["metric"] if isinstance(a, dict) and "metric" in a else a
                 for a in analysis["anomalies"]]
    first = _say(q, f"{sid} is {status}: {_numbers(q, values)}.",
                 f"{sid} 상태는 {status}입니다: {_numbers(q, values)}.")
    second = _say(q, f"Health score {health}/100" if health is not None else "No health score",
                  f"건강 점수 {health}/100" if health is not None else "건강 점수 없음")
    if anomalies:
        second += _say(q, f"; anomalous now: {', '.join(map(str, anomalies))}.",
                       f"; 현재 이상: {', '.join(map(str, anomalies))}.")
    else:
        second += _say(q, "; no anomaly detected.", "; 감지된 이상 없음.")
    parts = [first, second]
    if values["status"] == "critical":
        parts.append(_say(q, "Check it now.", "즉시 확인 필요."))
    return " ".join(parts), {"server": {"id": sid, **values},
                             "analysis": {k: analysis[k] for k in
                                          ("at", "health", "anomalies", "since", "alarm")}}


def _server_why(q: Question, b: _Backends) -> Answer:
    if len(q.servers) > 1:
        return _ambiguous(q)
    sid = q.servers[0]
    live, analysis = _server_facts(b, sid)
    values = _values(live)
    found = b.incidents(b.instant - 86_400, b.instant + 1)["incidents"]
    mine = [i for i in found if sid in {a["server_id"] for a in i["affected"]}]
    facts: dict[str, Any] = {"server": {"id": sid, **values},
                             "analysis": {k: analysis[k] for k in
                                          ("at", "health", "anomalies", "since")},
                             "incidents": mine}
    now_values = _numbers(q, values)
    if mine:
        last = mine[-1]
        onset = next(a["onset"] for a in last["affected"] if a["server_id"] == sid)
        pattern = last["pattern"].replace("_", " ")
        when = _local(last["start"], b.settings.fleet_timezone)
        if last["origin"] == sid:
            text = _say(q, f"{sid} is the origin of a {pattern} that began at {when} "
                           f"(confidence {last['confidence']:.2f}). Now: {now_values}.",
                        f"{sid}에서 {when}에 시작된 {pattern}의 원인 서버입니다 "
                        f"(신뢰도 {last['confidence']:.2f}). 현재: {now_values}.")
        else:
            text = _say(q, f"{sid} is affected by a {pattern} that began on {last['origin']} "
                           f"at {when}; {sid} joined at "
                           f"{_local(onset, b.settings.fleet_timezone)}. Now: {now_values}.",
                        f"{sid}은(는) {when}에 {last['origin']}에서 시작된 {pattern}의 영향을 "
                        f"받고 있습니다 ({_local(onset, b.settings.fleet_timezone)}부터). "
                        f"현재: {now_values}.")
        return text, facts
    if analysis["anomalies"]:
        names = ", ".join(str(a.get("metric", a)) if isinstance(a, dict) else str(a)
                          for a in analysis["anomalies"])
        return _say(q, f"No incident names {sid}, but it is anomalous now ({names}): "
                       f"{now_values}.",
                    f"{sid}이(가) 포함된 인시던트는 없지만 현재 이상이 있습니다 ({names}): "
                    f"{now_values}."), facts
    return _say(q, f"Nothing unusual on {sid} in the last day: {now_values}; health "
                   f"{analysis['health']}/100.",
                f"지난 하루 동안 {sid}에 특이한 점은 없습니다: {now_values}; 건강 점수 "
                f"{analysis['health']}/100."), facts


def _what_happened(q: Question, b: _Backends) -> Answer:
    assert q.start is not None and q.end is not None
    end = min(q.end, b.instant)
    start = min(q.start, end)
    incidents: list[dict[str, Any]] = b.incidents(start, end)["incidents"] if end > start \
        else []
    label = q.window_label or ""
    tz = b.settings.fleet_timezone
    if not incidents:
        return _say(q, f"No incident began in {label} ({_local(format_iso(start), tz)}–"
                       f"{_local(format_iso(end), tz)}).",
                    f"{_ko_label(label)} ({_local(format_iso(start), tz)}–"
                    f"{_local(format_iso(end), tz)})에 시작된 인시던트는 없습니다."), \
            {"window": {"start": format_iso(start), "end": format_iso(end)}, "incidents": []}
    items = [f"{i['pattern'].replace('_', ' ')} on {i['origin']} at {_local(i['start'], tz)}"
             f" ({len(i['affected'])} server{'s' if len(i['affected']) != 1 else ''})"
             for i in incidents[:3]]
    items_ko = [f"{_local(i['start'], tz)} {i['origin']}의 {i['pattern'].replace('_', ' ')} "
                f"(서버 {len(i['affected'])}대)" for i in incidents[:3]]
    more = len(incidents) - 3
    en = f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''} began in {label}: " \
         + "; ".join(items) + (f"; and {more} more." if more > 0 else ".")
    ko = f"{_ko_label(label)}에 인시던트 {len(incidents)}건이 시작되었습니다: " \
         + "; ".join(items_ko) + (f"; 외 {more}건." if more > 0 else ".")
    return _say(q, en, ko), {"window": {"start": format_iso(start), "end": format_iso(end)},
                             "incidents": incidents}


def _at_risk(q: Question, b: _Backends) -> Answer:
    risks = []
    for server in b.analysis()["servers"]:
        for metric, forecast in sorted(server["forecast"].items()):
            for level in ("critical", "warning"):
                crossing = forecast.get(level)
                if crossing and 0 < crossing["seconds"] <= RISK_HORIZON:
                    risks.append({"server_id": server["server_id"], "metric": metric,
                                  "level": level, "threshold": crossing["threshold"],
                                  "seconds": crossing["seconds"], "at": crossing["at"],
                                  "now": forecast["level"]})
                    break
    risks.sort(key=lambda r: (r["level"] != "critical", r["seconds"]))
    n = _METRIC_NAMES[q.language]
    if not risks:
        return _say(q, "No server is forecast to cross a threshold in the next 24 hours.",
                    "앞으로 24시간 안에 임계값을 넘을 것으로 예측되는 서버는 없습니다."), \
            {"risks": []}
    shown = risks[:3]
    en_names = _METRIC_NAMES["en"]
    en = "; ".join(f"{r['server_id']} {en_names[r['metric']]} reaches {r['threshold']:g}% "
                   f"({r['level']}) in {r['seconds'] / 3600:.1f} h" for r in shown)
    ko = "; ".join(f"{r['server_id']} {n[r['metric']]} {r['seconds'] / 3600:.1f}시간 후 "
                   f"{r['threshold']:g}% 도달 ({_STATUS['ko'][r['level']]})" for r in shown)
    count = len({r["server_id"] for r in risks})
    return _say(q, f"{count} server{'s are' if count != 1 else ' is'} at risk: {en}.",
                f"위험한 서버 {count}대: {ko}."), {"risks": risks}


def _fleet_summary(q: Question, b: _Backends) -> Answer:
    snap = b.snapshot()
    summary = snap["summary"]
    analysis = b.analysis()["servers"]
    scored = sorted((s for s in analysis if s["health"] is not None),
                    key=lambda s: (s["health"], s["server_id"]))[:3]
    st = _STATUS[q.language]
    counts = ", ".join(f"{summary[k]} {st[k]}" for k in ("healthy", "warning", "critical",
                                                          "offline"))
    lowest = ", ".join(f"{s['server_id']} ({s['health']})" for s in scored)
    facts = {"summary": summary, "timestamp": snap["timestamp"],
             "lowest_health": [{"server_id": s["server_id"], "health": s["health"]}
                               for s in scored]}
    return _say(q, f"{summary['total']} servers: {counts}. Lowest health: {lowest}.",
                f"서버 {summary['total']}대: {counts}. 건강 점수가 가장 낮은 서버: "
                f"{lowest}."), facts


def _top(q: Question, b: _Backends) -> Answer:
    metric = q.metric or "cpu"
    pick: Callable[[Mapping[str, Any]], float | None] = {
        "cpu": lambda s: s["cpu"]["usage"], "memory": lambda s: s["memory"]["usage"],
        "disk": lambda s: s["disk"]["usage"], "response_time": lambda s: s["responseTime"],
        "network": lambda s: s["network"]["rx"] + s["network"]["tx"],
    }[metric]
    servers = [(s["id"], pick(s)) for s in b.snapshot()["servers"] if pick(s) is not None]
    top = sorted(servers, key=lambda p: (-(p[1] or 0.0), p[0]))[:TOP_N]
    unit = {"response_time": " ms", "network": " KB/s"}.get(metric, "%")
    listed = ", ".join(f"{sid} {value:g}{unit}" for sid, value in top)
    n = _METRIC_NAMES[q.language][metric]
    return _say(q, f"Top {len(top)} by {_METRIC_NAMES['en'][metric]}: {listed}.",
                f"{n} 사용 상위 {len(top)}대: {listed}."), \
        {"metric": metric, "top": [{"server_id": sid, "value": v} for sid, v in top]}


def _unknown_server(q: Question, b: _Backends) -> Answer:
    name = str(q.entities.get("serverId", ""))
    ids = b.server_ids
    sample = ", ".join(ids[:4])
    return _say(q, f"There is no server called {echo(name)}; this fleet's servers are named "
                   f"like {sample}.",
                f"{echo(name)}라는 서버는 없습니다. 이 플릿의 서버 이름은 {sample} 같은 "
                f"형식입니다."), {"servers": ids}


HELP_EN = ("I can answer: is a server ok (\"is db-01 ok?\"), why a server is slow (\"why is "
           "api-03 slow?\"), what happened in a window (\"what happened yesterday between 14:00 "
           "and 16:00?\"), which servers are at risk, a fleet summary, and the top servers by "
           "CPU, memory, disk, latency or network.")
HELP_KO = ("이런 질문에 답할 수 있습니다: 서버 상태 (\"db-01 상태 어때?\"), 느린 이유 (\"api-03 왜 "
           "느려?\"), 특정 시간의 사건 (\"어제 오후 2시에 무슨 일이 있었어?\"), 위험한 서버, 전체 "
           "현황, CPU·메모리·디스크·응답 시간·네트워크 상위 서버.")


def _help(q: Question, b: _Backends) -> Answer:
    return _say(q, HELP_EN, HELP_KO), {"intents": ["server_health", "server_why",
                                                   "what_happened", "at_risk",
                                                   "fleet_summary", "top_consumers"]}


_ANSWERS: dict[str, Callable[[Question, _Backends], Answer]] = {
    "server_health": _server_health, "server_why": _server_why,
    "what_happened": _what_happened, "at_risk": _at_risk, "fleet_summary": _fleet_summary,
    "top_consumers": _top, "unknown_server": _unknown_server, "help": _help,
}


def _local(iso: str, timezone: str) -> str:
    """``MM-DD HH:MM`` in the fleet's zone."""
    moment = datetime.fromtimestamp(parse_instant(iso, "t"), ZoneInfo(timezone))
    return moment.strftime("%m-%d %H:%M")


def _ko_label(label: str) -> str:
    return (label.replace("yesterday", "어제").replace("today", "오늘")
            .replace("the last 24 hours", "지난 24시간").replace("the last hour", "지난 1시간")
            .replace("the last ", "지난 ").replace(" hours", "시간"))


"""GET /api/ask over the question table: every question read as its intent and entities,
and the numbers of each answer equal to what the other endpoints return at that instant,
computed here from those endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from lib.assistant import parse_question
from lib.sim import get_fleet
from tests.apiclient import NOW, Api
from tests.assistant.questions import QUESTIONS

IDS = [t.id for t in get_fleet().servers]


@pytest.mark.parametrize(("question", "intent", "server", "metric"), QUESTIONS,
                         ids=[q[0] for q in QUESTIONS])
def test_each_question_is_read_as_its_intent(question: str, intent: str, server: Any,
                                             metric: str | None) -> None:
    parsed = parse_question(question, IDS, NOW, "Asia/Seoul")
    assert parsed.intent == intent
    expected = () if server is None else (server,) if isinstance(server, str) else server
    if intent != "unknown_server":
        assert parsed.servers == expected
    if metric is not None:
        assert parsed.metric == metric
    assert parsed.language == ("ko" if any("\uac00" <= c <= "\ud7a3" for c in question)
                               else "en")


def ask(api: Api, q: str, **params: str) -> dict[str, Any]:
    response = api.client.get("/api/ask", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["question"] == q
    return body


def test_answers_carry_the_endpoints_numbers(api: Api) -> None:
    live = api.client.get("/api/monitoring/servers").json()
    servers = {s["id"]: s for s in live["servers"]}
    analysis = {s["server_id"]: s for s in
                api.client.get("/api/analysis/servers").json()["servers"]}

    health = ask(api, "db-02 상태 어때?")
    db02 = servers["db-02"]
    assert health["intent"] == "server_health" and health["language"] == "ko"
    assert health["entities"] == {"serverId": "db-02"}
    assert health["facts"]["server"]["cpu"] == db02["cpu"]["usage"]
    assert health["facts"]["server"]["memory"] == db02["memory"]["usage"]
    assert health["facts"]["analysis"]["health"] == analysis["db-02"]["health"]
    assert f"CPU {db02['cpu']['usage']:.1f}%" in health["answer"]
    assert f"메모리 {db02['memory']['usage']:.1f}%" in health["answer"]
    assert f"{analysis['db-02']['health']}/100" in health["answer"]

    english = ask(api, "is db-02 ok?")
    assert english["language"] == "en" and f"CPU {db02['cpu']['usage']:.1f}%" in english[
        "answer"]

    summary = ask(api, "fleet summary")
    assert summary["facts"]["summary"] == live["summary"]
    assert f"{live['summary']['total']} servers: {live['summary']['healthy']} healthy" in \
        summary["answer"]
    lowest = sorted((s for s in analysis.values() if s["health"] is not None),
                    key=lambda s: (s["health"], s["server_id"]))[:3]
    assert [x["server_id"] for x in summary["facts"]["lowest_health"]] == \
        [s["server_id"] for s in lowest]

    top = ask(api, "메모리를 가장 많이 쓰는 서버는?")
    expected = sorted(servers.values(), key=lambda s: (-s["memory"]["usage"], s["id"]))[:5]
    assert [t["server_id"] for t in top["facts"]["top"]] == [s["id"] for s in expected]
    assert f"{expected[0]['id']} {expected[0]['memory']['usage']:g}%" in top["answer"]

    risk = ask(api, "which servers are at risk?")
    crossing = {s["server_id"] for s in analysis.values() for f in s["forecast"].values()
                for level in ("critical", "warning")
                if f.get(level) and 0 < f[level]["seconds"] <= 86_400}
    assert {r["server_id"] for r in risk["facts"]["risks"]} == crossing
    if crossing:
        assert risk["answer"].startswith(f"{len(crossing)} server")


def test_what_happened_counts_the_incidents_endpoints_window(api: Api) -> None:
    # NOW is 19:00 on Jan 2 in Seoul: "yesterday 22:00–23:00" is Jan 1 13:00–14:00 UTC
    body = ask(api, "어제 오후 10시부터 11시까지 사건 알려줘")
    window = body["entities"]["window"]
    assert (window["start"], window["end"]) == ("2024-01-01T13:00:00Z", "2024-01-01T14:00:00Z")
    listed = api.client.get("/api/analysis/incidents",
                            params={"from": window["start"], "to": window["end"]}).json()
    assert body["facts"]["incidents"] == listed["incidents"]
    if listed["count"]:
        assert f"인시던트 {listed['count']}건" in body["answer"]
        first = listed["incidents"][0]
        assert first["origin"] in body["answer"]
    english = ask(api, "what happened in the last 3 hours?")
    assert english["entities"]["window"]["end"] == "2024-01-02T10:00:07Z"


def test_why_names_the_incident_the_server_is_in(api: Api) -> None:
    body = ask(api, "why is api-03 slow?")
    assert body["intent"] == "server_why" and body["entities"]["serverId"] == "api-03"
    for incident in body["facts"]["incidents"]:
        assert "api-03" in {a["server_id"] for a in incident["affected"]}
    if body["facts"]["incidents"]:
        assert body["facts"]["incidents"][-1]["origin"] in body["answer"]


def test_ambiguity_unknown_servers_and_help(api: Api) -> None:
    unknown = ask(api, "is web-99 ok?")
    assert unknown["intent"] == "unknown_server" and "web-99" in unknown["answer"]
    helped = ask(api, "안녕하세요")
    assert helped["intent"] == "help" and "db-01 상태 어때?" in helped["answer"]


def test_at_makes_the_answer_reproducible(api: Api) -> None:
    first = ask(api, "is db-02 ok?", at="2024-01-02T06:00:00Z")
    again = ask(api, "is db-02 ok?", at="2024-01-02T06:00:00Z")
    assert first == again and first["at"] == "2024-01-02T06:00:00Z"
    past = api.client.get("/api/monitoring/servers",
                          params={"serverId": "db-02", "at": "2024-01-02T06:00:00Z"}).json()
    assert first["facts"]["server"]["cpu"] == past["servers"][0]["cpu"]["usage"]


@pytest.mark.parametrize(("params", "parameter", "status"), [
    ({}, "q", 400),
    ({"q": "   "}, "q", 400),
    ({"q": "x" * 501}, "q", 400),
    ({"q": "is db-01 ok?", "at": "yesterday"}, "at", 400),
    ({"q": "is db-01 ok?", "at": "2099-01-01T00:00:00Z"}, "at", 422),
])
def test_bad_questions_get_the_stable_error_shape(api: Api, params: dict[str, str],
                                                  parameter: str, status: int) -> None:
    response = api.client.get("/api/ask", params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["parameter"] == parameter

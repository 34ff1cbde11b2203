"""/api/mcp through the MCP SDK's own client (streamable HTTP + ClientSession) against
``python -m lib serve`` over real HTTP: initialise, list the tools, call each — the values
equal the HTTP API's at the same instant — and bad arguments and an unknown tool come back
as tool errors."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx
import pytest

from lib.core import format_iso
from tests.services.prometheus import running_local_api

mcp_client = pytest.importorskip("mcp.client.session")
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

TOOLS = ["list_servers", "get_server", "query_metrics", "list_incidents", "analyze_server",
         "ask"]


@pytest.fixture(scope="module")
def served() -> Any:
    with running_local_api({"METRICS_SEED": "7"}) as address:
        yield f"http://{address}"


def call_all(base: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    async def run() -> tuple[Any, list[Any]]:
        async with streamable_http_client(f"{base}/api/mcp") as streams, \
                ClientSession(streams[0], streams[1]) as session:
            init = await session.initialize()
            listed = await session.list_tools()
            results = [await session.call_tool(name, args) for name, args in calls]
            return (init, listed), results
    return anyio.run(run)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return dict(result.structured_content)
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


def test_every_tool_answers_what_the_http_api_answers(served: str) -> None:
    now = int(time.time())
    at = format_iso(now - now % 3600 - 3600)      # an hour that is over: reproducible
    start, end = format_iso(now - now % 3600 - 4 * 3600), at
    (init, listed), results = call_all(served, [
        ("list_servers", {"at": at}),
        ("get_server", {"server_id": "db-01", "at": at}),
        ("query_metrics", {"server_id": "web-01", "start": start, "end": end, "step": 600}),
        ("list_incidents", {"start": start, "end": end}),
        ("analyze_server", {"server_id": "api-02", "at": at}),
        ("ask", {"question": "db-01 상태 어때?", "at": at}),
    ])
    assert init.server_info.name == "fleet-metrics"
    tools = {t.name: t for t in listed.tools}
    assert sorted(tools) == sorted(TOOLS)
    for tool in tools.values():   # described for a model, with a JSON schema of arguments
        assert len(tool.description or "") > 60 and tool.input_schema["type"] == "object"
    assert tools["get_server"].input_schema["required"] == ["server_id"]

    http = httpx.Client(base_url=served, timeout=60)
    servers = http.get("/api/monitoring/servers", params={"at": at}).json()
    listed_servers = structured(results[0])
    assert listed_servers["summary"] == servers["summary"]
    assert [s["id"] for s in listed_servers["servers"]] == [s["id"] for s in servers["servers"]]
    assert structured(results[1]) == http.get(
        "/api/monitoring/servers", params={"serverId": "db-01", "at": at}).json()
    assert structured(results[2]) == http.get(
        "/api/monitoring/performance",
        params={"serverId": "web-01", "from": start, "to": end, "step": 600}).json()
    assert structured(results[3]) == http.get(
        "/api/analysis/incidents", params={"from": start, "to": end}).json()
    assert structured(results[4]) == http.get(
        "/api/analysis/server", params={"serverId": "api-02", "at": at}).json()
    answer = structured(results[5])
    assert answer == http.get("/api/ask", params={"q": "db-01 상태 어때?", "at": at}).json()
    db01 = next(s for s in servers["servers"] if s["id"] == "db-01")
    assert f"CPU {db01['cpu']['usage']:.1f}%" in answer["answer"]


def test_bad_arguments_and_unknown_tools_are_tool_errors(served: str) -> None:
    _, results = call_all(served, [
        ("get_server", {"server_id": "nope-99"}),
        ("query_metrics", {"server_id": "web-01", "start": "1900-01-01T00:00:00Z",
                           "end": "2199-01-01T00:00:00Z", "step": 30}),
        ("list_incidents", {"start": "yesterday"}),
        ("get_server", {}),
        ("ask", {"question": "x" * 600}),
        ("no_such_tool", {}),
    ])
    texts = [r.content[0].text for r in results]
    assert all(r.is_error for r in results), texts
    assert "server_id: unknown server 'nope-99'" in texts[0]
    assert "start: a window covers at most" in texts[1]  # counted, never built
    assert texts[2].startswith("Error executing tool list_incidents: start:")
    assert "server_id" in texts[3]
    assert "at most 500 characters" in texts[4]
    assert "Unknown tool: no_such_tool" in texts[5]
    # the server is still there
    _, again = call_all(served, [("list_servers", {})])
    assert len(structured(again[0])["servers"]) == 20

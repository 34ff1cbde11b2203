"""POST /api/mcp — the fleet for AI agents: a Model Context Protocol server (the official
``mcp`` SDK) over streamable HTTP in stateless mode, so each request stands alone in a
serverless function. Tools: list_servers, get_server, query_metrics, list_incidents,
analyze_server, ask (docs/assistant.md).

The SDK is imported on the first request, not with this module: the local server and the
docs function load every function module, and their cold start must not carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response
from mangum import Mangum
from starlette.types import Receive, Scope, Send

from lib.app.mcp_tools import Tools
from lib.web import (
    CacheDep,
    CollectorDep,
    HotCacheDep,
    NowDep,
    SettingsDep,
    StoreDep,
    create_app,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

router = APIRouter()
INSTRUCTIONS = (
    "A simulated (or real) server fleet: web, api, db, cache and worker servers with CPU, "
    "memory, disk, response time and network every 30 s, an analysis that detects "
    "incidents with their origin and pattern, and health scores with forecasts. Instants are "
    "ISO 8601 (UTC if no offset). Start with list_servers; ask answers plain questions in "
    "Korean or English."
)


class _MCPResponse(Response):
    """Hands the raw request to the SDK: a fresh stateless session manager per request."""

    def __init__(self, tools: Tools) -> None:
        super().__init__()
        self.tools = tools

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        server = build_server(self.tools)
        manager = StreamableHTTPSessionManager(
            server._lowlevel_server, json_response=True, stateless=True,
            # a deployment answers on its own domain; Vercel terminates the connection
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        async with manager.run():
            await manager.handle_request(scope, receive, send)


def build_server(tools: Tools) -> MCPServer:
    """The MCP server with the fleet's tools bound to this request's backends."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from lib.core import FleetError, InvalidParameter

    server = MCPServer(name="fleet-metrics", instructions=INSTRUCTIONS)

    def run(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = call(*args, **kwargs)
            return result
        except InvalidParameter as exc:  # bad arguments: a tool error naming the argument
            raise ToolError(f"{exc.parameter}: {exc.detail}") from exc
        except FleetError as exc:  # an outage: what a response may say of it, never a crash
            raise ToolError(exc.public) from exc

    @server.tool(description="Every server of the fleet with its role, status and location "
                             "at the current 30-s tick (or `at`, an ISO 8601 instant).")
    def list_servers(at: str | None = None) -> dict[str, Any]:
        return run(tools.list_servers, at=at)

    @server.tool(description="One server's live snapshot: status, CPU, memory, disk, "
                             "network, response time, uptime — as GET /api/monitoring/servers"
                             "?serverId= returns it. `server_id` is an id from list_servers.")
    def get_server(server_id: str, at: str | None = None) -> dict[str, Any]:
        return run(tools.get_server, server_id=server_id, at=at)

    @server.tool(description="One server's metrics over [start, end) every `step` seconds "
                             "(as GET /api/monitoring/performance): at most 2,000 points; "
                             "default the last hour at 30 s. `metric` limits it to one of "
                             "cpu, memory, disk, network, response_time.")
    def query_metrics(server_id: str, start: str | None = None, end: str | None = None,
                      step: int | None = None, metric: str | None = None) -> dict[str, Any]:
        return run(tools.query_metrics, server_id=server_id, start=start, end=end, step=step,
                   metric=metric)

    @server.tool(description="Incidents the analysis detected that start in [start, end) "
                             "(default the last day, at most 7 days): origin with ranked "
                             "candidates, pattern, confidence, affected servers and onsets.")
    def list_incidents(start: str | None = None, end: str | None = None) -> dict[str, Any]:
        return run(tools.list_incidents, start=start, end=end)

    @server.tool(description="One server's health score (0–100), current anomalies against "
                             "its baseline, and the forecast of disk and memory reaching "
                             "their warning and critical levels, at `at` (default now).")
    def analyze_server(server_id: str, at: str | None = None) -> dict[str, Any]:
        return run(tools.analyze_server, server_id=server_id, at=at)

    @server.tool(description="A plain-language question in Korean or English (\"is db-01 "
                             "ok?\", \"api-03 왜 느려?\", \"what happened yesterday between "
                             "14:00 and 16:00?\"): the intent, entities, a short answer with "
                             "the numbers, and the facts behind each number.")
    def ask(question: str, at: str | None = None) -> dict[str, Any]:
        return run(tools.ask, q=question, at=at)

    return server


@router.api_route("/api/mcp", methods=["GET", "POST", "DELETE"], include_in_schema=False)
def mcp_endpoint(
    store: StoreDep,
    collector: CollectorDep,
    hot: HotCacheDep,
    cache: CacheDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The MCP endpoint (JSON-RPC over streamable HTTP; see the module docstring)."""
    return _MCPResponse(Tools(store, collector, hot, cache, settings, now))


app = create_app(router, title="POST /api/mcp")
lambda_handler = Mangum(app, lifespan="off")

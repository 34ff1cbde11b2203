"""The MCP server's tools as use cases (``api/mcp.py`` binds them to the SDK): each returns
exactly the payload of the HTTP endpoint it mirrors, so an agent and a client read the same
numbers."""

from __future__ import annotations

from typing import Any

from lib.cache import Cache
from lib.collectors import Collector
from lib.core import Settings
from lib.store import MetricStore

from .analysis import analyzed_incidents, server_analysis
from .assistant import answer_question
from .live import servers_snapshot
from .performance import performance

__all__ = ["Tools"]


class Tools:
    """One request's backends, and a method per tool."""

    def __init__(self, store: MetricStore, collector: Collector, hot: Cache, warm: Cache,
                 settings: Settings, now: int) -> None:
        self.store, self.collector, self.hot, self.warm = store, collector, hot, warm
        self.settings, self.now = settings, now

    def list_servers(self, *, at: str | None) -> dict[str, Any]:
        """As GET /api/monitoring/servers, each server's identity and status only."""
        snap = servers_snapshot(self.collector, self.hot, self.warm, self.settings, self.now,
                                at=at, server_id=None).payload
        keep = ("id", "name", "role", "location", "status")
        return {"timestamp": snap["timestamp"], "summary": snap["summary"],
                "servers": [{k: s[k] for k in keep} for s in snap["servers"]]}

    def get_server(self, *, server_id: str, at: str | None) -> dict[str, Any]:
        """As GET /api/monitoring/servers?serverId=."""
        return servers_snapshot(self.collector, self.hot, self.warm, self.settings, self.now,
                                at=at, server_id=server_id).payload

    def query_metrics(self, *, server_id: str, start: str | None, end: str | None,
                      step: int | None, metric: str | None) -> dict[str, Any]:
        """As GET /api/monitoring/performance (its limits: at most 2,000 points)."""
        return performance(self.store, self.collector, self.now, server_id=server_id,
                           start=start, end=end, metric=metric, step=step).payload

    def list_incidents(self, *, start: str | None, end: str | None) -> dict[str, Any]:
        """As GET /api/analysis/incidents."""
        return analyzed_incidents(self.store, self.collector, self.hot, self.warm, self.now,
                                  start=start, end=end).payload

    def analyze_server(self, *, server_id: str, at: str | None) -> dict[str, Any]:
        """As GET /api/analysis/server."""
        return server_analysis(self.store, self.collector, self.hot, self.warm, self.now,
                               server_id=server_id, at=at).payload

    def ask(self, *, q: str, at: str | None) -> dict[str, Any]:
        """As GET /api/ask."""
        return answer_question(self.store, self.collector, self.hot, self.warm, self.settings,
                               self.now, q=q, at=at).payload

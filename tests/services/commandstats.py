"""Commands a real Redis has executed, from ``INFO commandstats`` — what Upstash bills."""

from __future__ import annotations

import re

from tests.services.redis import RedisServer, RespConnection

__all__ = ["commands_run", "reset_commandstats"]

_LINE = re.compile(r"^cmdstat_(?P<name>[a-z_|]+):calls=(?P<calls>\d+)", re.M)
# What the measuring itself sends, never billed to the application.
_OURS = {"info", "config|resetstat", "config"}


def reset_commandstats(server: RedisServer) -> None:
    with RespConnection(server.host, server.port) as conn:
        conn.call("CONFIG", "RESETSTAT")


def commands_run(server: RedisServer) -> dict[str, int]:
    """Calls per command since the last reset (the measuring's own commands left out)."""
    with RespConnection(server.host, server.port) as conn:
        reply = conn.call("INFO", "commandstats")
    assert isinstance(reply, bytes)
    return {m["name"]: int(m["calls"]) for m in _LINE.finditer(reply.decode())
            if m["name"] not in _OURS}

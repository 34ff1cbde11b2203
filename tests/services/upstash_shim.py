"""A local stand-in for Upstash's REST API, in front of the real redis-server.

Hosted Upstash cannot run here, so the adapter is exercised at the HTTP boundary (SPEC §11): this
shim speaks the subset of the REST protocol that ``upstash-redis`` uses and forwards each command
to a real Redis over RESP.

    POST /             body ["SET", "k", "v", "EX", 300]  ->  {"result": ...}
    POST /pipeline     body [[...], [...]]                ->  [{"result": ...}, {"error": ...}]
    POST /multi-exec   body [[...], [...]]                ->  same, inside MULTI/EXEC

``Authorization: Bearer <token>`` is required (401 ``{"error": "Unauthorized"}`` otherwise); a Redis
error reply to a single command is 400 ``{"error": "..."}``. With ``Upstash-Encoding: base64``
(which the SDK sends by default) every string in a result is base64-encoded except the status
reply ``OK`` -- exactly what ``upstash_redis.http.decode`` undoes.

Every request is recorded (``requests``) before anything else happens, so tests can assert what
the adapter sent even when it was refused or left hanging; ``hang(True)`` makes the shim read
requests and never answer them.

Fixtures:
    upstash_shim_server  session   the running shim, in front of the session's redis_server
    upstash              function  the same shim, with Redis flushed, no recorded requests and
                                   hanging off
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.services.redis import (
    RedisServer,
    RespConnection,
    RespError,
    RespValue,
    SimpleString,
)

__all__ = [
    "SHIM_TOKEN",
    "RecordedRequest",
    "UpstashShim",
    "running_upstash_shim",
    "upstash",
    "upstash_shim_server",
]

SHIM_TOKEN = "shim-token-7f3a9c"
# A hung request is released at the latest after this, so a forgotten hang(False) cannot
# keep a thread alive forever.
_MAX_HANG_SECONDS = 60.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the shim received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or the raw text when it was not JSON


class UpstashShim:
    """The server; start with ``start()`` (or ``running_upstash_shim``), end with ``stop()``."""

    def __init__(self, upstream: RedisServer, token: str = SHIM_TOKEN) -> None:
        self.upstream = upstream
        self.token = token
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._hanging = False
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            # a short poll interval keeps stop() quick (shutdown waits for the next poll)
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="upstash-shim",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Release hung requests, stop serving and close the listening socket."""
        self.hang(False)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def hang(self, on: bool) -> None:
        """While on, requests are read and recorded but never answered."""
        with self._lock:
            self._hanging = on
            if on:
                self._release.clear()
            else:
                self._release.set()

    def reset(self) -> None:
        """Forget recorded requests and stop hanging."""
        self.hang(False)
        with self._lock:
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> bool:
        """Record ``request``; True when it must be left hanging."""
        with self._lock:
            self.requests.append(request)
            return self._hanging

    def _wait_for_release(self) -> None:
        self._release.wait(timeout=_MAX_HANG_SECONDS)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], shim: UpstashShim
    ) -> None:
        super().__init__(address, handler)
        self.shim = shim


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep pytest's output clean; tests read shim.requests instead

    def do_POST(self) -> None:
        shim = self.server.shim
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        if shim._record(RecordedRequest("POST", self.path, headers, body)):
            shim._wait_for_release()
            self.close_connection = True
            return
        if headers.get("authorization") != f"Bearer {shim.token}":
            self._reply(401, {"error": "Unauthorized"})
            return
        base64_results = headers.get("upstash-encoding", "").lower() == "base64"
        try:
            status, payload = _dispatch(shim.upstream, self.path, body, base64_results)
        except (OSError, ConnectionError) as exc:
            status, payload = 500, {"error": f"ERR upstream redis unavailable: {exc}"}
        self._reply(status, payload)

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _dispatch(upstream: RedisServer, path: str, body: Any, b64: bool) -> tuple[int, Any]:
    if path == "/":
        if not _is_command(body):
            return 400, {"error": "ERR the body must be a JSON array of command arguments"}
        with RespConnection(upstream.host, upstream.port) as conn:
            conn.send([body])
            reply = conn.read_reply()
        if isinstance(reply, RespError):
            return 400, {"error": str(reply)}
        return 200, {"result": _encode(reply, b64)}
    if path in ("/pipeline", "/multi-exec"):
        if not isinstance(body, list) or not body or not all(_is_command(c) for c in body):
            return 400, {"error": "ERR the body must be a JSON array of commands"}
        with RespConnection(upstream.host, upstream.port) as conn:
            replies = _pipeline(conn, body) if path == "/pipeline" else _transaction(conn, body)
        if isinstance(replies, RespError):
            return 400, {"error": str(replies)}
        return 200, [_item(reply, b64) for reply in replies]
    return 404, {"error": f"ERR unknown path {path}"}


def _pipeline(conn: RespConnection, commands: list[list[Any]]) -> list[RespValue]:
    conn.send(commands)
    return [conn.read_reply() for _ in commands]


def _transaction(conn: RespConnection, commands: list[list[Any]]) -> list[RespValue] | RespError:
    conn.send([["MULTI"], *commands, ["EXEC"]])
    queued = [conn.read_reply() for _ in range(len(commands) + 1)]
    result = conn.read_reply()
    if isinstance(result, RespError):  # EXECABORT: a command was refused while queueing
        queue_errors = [str(reply) for reply in queued if isinstance(reply, RespError)]
        return RespError("; ".join([str(result), *queue_errors]))
    if not isinstance(result, list):
        return RespError("ERR transaction aborted")
    return result


def _is_command(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(arg, str | int | float) and not isinstance(arg, bool) for arg in value)
    )


def _item(reply: RespValue, b64: bool) -> dict[str, Any]:
    if isinstance(reply, RespError):
        return {"error": str(reply)}
    return {"result": _encode(reply, b64)}


def _encode(reply: RespValue, b64: bool) -> Any:
    """A reply as Upstash puts it in JSON."""
    if reply is None or isinstance(reply, int):
        return reply
    if isinstance(reply, RespError):
        return str(reply)
    if isinstance(reply, list):
        return [_encode(element, b64) for element in reply]
    if isinstance(reply, SimpleString):
        if not b64 or reply == "OK":
            return str(reply)
        return base64.b64encode(reply.encode()).decode("ascii")
    if b64:
        return base64.b64encode(reply).decode("ascii")
    return reply.decode(errors="replace")


@contextmanager
def running_upstash_shim(upstream: RedisServer, token: str = SHIM_TOKEN) -> Iterator[UpstashShim]:
    """A started shim in front of ``upstream``; stopped on exit."""
    shim = UpstashShim(upstream, token)
    shim.start()
    try:
        yield shim
    finally:
        shim.stop()


@pytest.fixture(scope="session")
def upstash_shim_server(redis_server: RedisServer) -> Iterator[UpstashShim]:
    """One shim for the session, in front of the session's real Redis."""
    with running_upstash_shim(redis_server) as shim:
        yield shim


@pytest.fixture
def upstash(upstash_shim_server: UpstashShim, clean_redis: RedisServer) -> Iterator[UpstashShim]:
    """The shim with an empty Redis, no recorded requests and hanging off; reset after too."""
    upstash_shim_server.reset()
    yield upstash_shim_server
    upstash_shim_server.reset()

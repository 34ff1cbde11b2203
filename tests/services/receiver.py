"""A local HTTP receiver that records every request: the far end of webhooks in tests.

``Receiver`` listens on a free loopback port in a thread and records each request (method,
path, query, lower-cased headers, body) before answering. By default it answers 200 ``ok``
(Slack's answer); ``respond(...)`` changes the answer for every path or for one path:
status, body, headers and a delay before answering (longer than a client's timeout to test
slowness). ``wait_for(n)`` blocks until ``n`` requests arrived (Alertmanager posts on its own
schedule).

Fixtures:
    receiver_server   session   the running Receiver
    receiver          function  the same, with no recorded requests and default answers
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = ["Answer", "Receiver", "Request", "receiver", "receiver_server", "running_receiver"]

_MAX_DELAY_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    """One request as received; ``path`` is without the query, header names lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What the receiver answers: status, body, extra headers, seconds to wait first."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """The server; ``start()``/``stop()``, or ``running_receiver()``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._answers: dict[str | None, Answer] = {}
        self._arrived = threading.Condition()
        self._released = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="receiver",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget requests; answer 200 ``ok`` everywhere; end every delayed answer now."""
        with self._arrived:
            self._released.set()
            self._released = threading.Event()
            self.requests.clear()
            self._answers.clear()

    def respond(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"ok",
        *,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer requests to ``path`` (every path when None) this way from now on."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        elif isinstance(body, str):
            body = body.encode()
        self._answers[path] = Answer(status, body, dict(headers or {}), delay)

    def on(self, path: str) -> list[Request]:
        """The requests received on ``path``, in arrival order."""
        with self._arrived:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Request]:
        """Block until ``count`` requests (to ``path``, when given) have arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                seen = [r for r in self.requests if path is None or r.path == path]
                if len(seen) >= count:
                    return seen
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(seen)} of {count} requests to "
                                       f"{path or 'any path'} arrived in {timeout} s")
                self._arrived.wait(left)

    def _record(self, request: Request) -> tuple[Answer, threading.Event]:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            answer = self._answers.get(request.path) or self._answers.get(None) or Answer()
            return answer, self._released


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 receiver: Receiver) -> None:
        super().__init__(address, handler)
        self.receiver = receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None  # tests read receiver.requests instead

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                          headers, body)
        answer, released = self.server.receiver._record(request)
        if answer.delay and released.wait(min(answer.delay, _MAX_DELAY_SECONDS)):
            self.close_connection = True  # reset() or stop(): drop the slow answer
            return
        body = b"" if answer.status in (204, 304) else answer.body  # no body allowed
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture
def receiver(receiver_server: Receiver) -> Iterator[Receiver]:
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()

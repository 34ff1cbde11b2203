"""A local on-premises monitoring API implementing docs/custom-collector.md (custom collector).

It serves the simulator's values for a handful of servers, so tests know exactly what was sent:

    GET /api/servers                                   {"servers": [template, ...]}
    GET /api/servers/{id}/metrics                      the latest sample (at ``latest_at``)
    GET /api/servers/{id}/metrics?from=&to=&step=      {"server_id", "step", "metrics": [...]}
    GET /api/servers/{id}/status                       {"server_id", "online", "uptime"}

``Authorization: Bearer <key>`` is required (401 otherwise); an unknown server is 404; a bad
query is 400. The source has no data after ``latest_at``: a series is cut there.

Every request is recorded (``requests``) before anything else happens. Switches, all undone
by ``reset()``:

    set_down(id)           its metrics answer 503, its status online=false, uptime=null
    set_offline(id, since) its metrics stop at ``since`` (served stale), status online=false
    override(id, **fields) replace fields of its latest sample (e.g. response_time=900)
    corrupt(kind, id)      break the JSON of every answer (id None) or of one server's answers:
                           "malformed" (cut in half), "missing" (a required field dropped),
                           "wrong_type" (a number sent as a string), "out_of_range" (cpu 140 %)
    hang(True, id)         read and record requests but never answer them (all, or one server's)
    latency                seconds to sleep before each answer (to measure concurrency)

Fixtures:
    onprem_server   session   the running API over DEFAULT_SERVERS
    onprem          function  the same, with switches off and no recorded requests
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from lib.core import InvalidParameter, MetricRow, parse_instant
from lib.sim import MIN_STEP, Simulator
from lib.sim.fleet import ServerTemplate, get_fleet

__all__ = [
    "DEFAULT_SERVERS",
    "LATEST_AT",
    "ONPREM_KEY",
    "SEED",
    "Corruption",
    "OnPremAPI",
    "RecordedRequest",
    "onprem",
    "onprem_server",
    "running_onprem_api",
]

ONPREM_KEY = "onprem-key-5b2d81"
SEED = 7
# The source's "now": its latest sample is the 30-second tick at or before this.
LATEST_AT = parse_instant("2024-01-02T09:30:15Z", "LATEST_AT")
DEFAULT_SERVERS = ("api-01", "cache-01", "db-01", "web-01", "web-02", "worker-01")
NATIVE_STEP = MIN_STEP  # the step of a series asked for without one
_MAX_HANG_SECONDS = 60.0

Corruption = Literal["malformed", "missing", "wrong_type", "out_of_range"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; ``path`` is without the query, header names lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class OnPremAPI:
    """The server; ``start()``/``stop()``, or ``running_onprem_api()``."""

    def __init__(
        self,
        simulator: Simulator | None = None,
        server_ids: Sequence[str] = DEFAULT_SERVERS,
        *,
        key: str = ONPREM_KEY,
        latest_at: int = LATEST_AT,
    ) -> None:
        self.simulator = simulator or Simulator(SEED, get_fleet())
        self.templates = [self.simulator.fleet.get(s) for s in sorted(server_ids)]
        self.key = key
        self.latest_at = latest_at - latest_at % MIN_STEP
        now = self.simulator.frame(self.latest_at, self.latest_at + MIN_STEP, MIN_STEP,
                                   [t.id for t in self.templates])
        self._now = {row.server_id: row for row in now.rows()}
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.reset()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="onprem-api", daemon=True,
        )

    # -- lifecycle and switches -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.down: set[str] = set()
            self.offline: dict[str, int] = {}
            self.overrides: dict[str, dict[str, Any]] = {}
            self.corruptions: dict[str | None, Corruption] = {}
            self.hanging: set[str | None] = set()
            self.latency = 0.0
        self._release.set()

    def set_down(self, server_id: str) -> None:
        self.down.add(server_id)

    def set_offline(self, server_id: str, since: int) -> None:
        self.offline[server_id] = since - since % MIN_STEP

    def override(self, server_id: str, **fields: Any) -> None:
        self.overrides.setdefault(server_id, {}).update(fields)

    def corrupt(self, kind: Corruption, server_id: str | None = None) -> None:
        self.corruptions[server_id] = kind

    def hang(self, on: bool, server_id: str | None = None) -> None:
        with self._lock:
            if on:
                self.hanging.add(server_id)
                self._release.clear()
            else:
                self.hanging.discard(server_id)
                if not self.hanging:
                    self._release.set()

    # -- what is served (tests compare the collector's answers with these) ---------------

    def latest(self, server_id: str) -> MetricRow:
        """The latest sample of a server, before overrides."""
        tick = self.offline.get(server_id, self.latest_at)
        if tick == self.latest_at:  # kept in memory, as a real source would
            return self._now[server_id]
        return next(self.simulator.frame(tick, tick + MIN_STEP, MIN_STEP, [server_id]).rows())

    def uptime(self, server_id: str) -> int:
        return self.simulator.uptime([server_id], self.latest_at)[0]

    def series(self, server_id: str, start: int, end: int, step: int) -> list[MetricRow]:
        end = min(end, self.offline.get(server_id, self.latest_at) + 1)
        if end <= start:
            return []
        return list(self.simulator.frame(start, end, step, [server_id]).rows())

    # -- request handling -----------------------------------------------------------------

    def _record(self, request: RecordedRequest, server_id: str | None) -> bool:
        """Record ``request``; True when it must be left hanging."""
        with self._lock:
            self.requests.append(request)
            return None in self.hanging or (server_id is not None and server_id in self.hanging)

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts == ["api", "servers"]:
            return 200, {"servers": [_template_json(t) for t in self.templates]}
        if len(parts) != 4 or parts[:2] != ["api", "servers"] or parts[3] not in (
            "metrics", "status"
        ):
            return 404, {"error": f"no such endpoint {path}"}
        sid = unquote(parts[2])
        if sid not in {t.id for t in self.templates}:
            return 404, {"error": f"unknown server {sid!r}"}
        if parts[3] == "status":
            online = sid not in self.down and sid not in self.offline
            return 200, {"server_id": sid, "online": online,
                         "uptime": self.uptime(sid) if online else None}
        if sid in self.down:
            return 503, {"error": f"agent on {sid} unreachable"}
        if not query.get("from") and not query.get("to"):
            row = self.latest(sid)
            return 200, {"server_id": sid, **_point_json(row), **self.overrides.get(sid, {})}
        return self._series(sid, query)

    def _series(self, sid: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            start = parse_instant(_one(query, "from"), "from")
            end = parse_instant(_one(query, "to"), "to")
            step = int(query.get("step", [str(NATIVE_STEP)])[0])
        except (InvalidParameter, ValueError) as exc:
            return 400, {"error": str(exc)}
        if step < MIN_STEP or end < start:
            return 400, {"error": f"need step >= {MIN_STEP} and from <= to"}
        rows = self.series(sid, start, end, step)
        return 200, {"server_id": sid, "step": step, "metrics": [_point_json(r) for r in rows]}


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    if not values:
        raise ValueError(f"{name} is required with a series")
    return values[0]


def _template_json(t: ServerTemplate) -> dict[str, Any]:
    return t.as_dict()


def _point_json(row: MetricRow) -> dict[str, Any]:
    point = row.as_dict()
    del point["server_id"], point["status"]  # the collector derives status itself
    return point


# What each corruption does to a server template, a status and a metric sample:
# the field dropped ("missing") or the value sent instead ("wrong_type", "out_of_range").
_BREAKS: dict[str, dict[Corruption, tuple[str, Any]]] = {
    "server": {"missing": ("role", None), "wrong_type": ("cpu_cores", "eight"),
               "out_of_range": ("cpu_cores", 0)},
    "status": {"missing": ("online", None), "wrong_type": ("online", "yes"),
               "out_of_range": ("uptime", -5)},
    "point": {"missing": ("cpu", None), "wrong_type": ("cpu", "high"),
              "out_of_range": ("cpu", 140.0)},
}


def _corrupted(payload: Any, kind: Corruption) -> bytes:
    """``payload`` as JSON, broken in the way ``kind`` names."""
    text = json.dumps(payload)
    if kind == "malformed":
        return text[: len(text) // 2].encode()
    if "servers" in payload:
        target, what = payload["servers"][0], "server"
    elif "online" in payload:
        target, what = payload, "status"
    elif "metrics" in payload:
        target, what = payload["metrics"][-1], "point"
    else:
        target, what = payload, "point"
    field, value = _BREAKS[what][kind]
    if kind == "missing":
        del target[field]
    else:
        target[field] = value
    return json.dumps(payload).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: OnPremAPI
    ) -> None:
        super().__init__(address, handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a request on loopback), which would swamp every timing
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None  # tests read api.requests instead

    def do_GET(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        parts = url.path.strip("/").split("/")
        sid = unquote(parts[2]) if len(parts) == 4 else None
        if api._record(RecordedRequest("GET", url.path, query, headers), sid):
            api._release.wait(timeout=_MAX_HANG_SECONDS)
            self.close_connection = True
            return
        if api.latency:
            time.sleep(api.latency)
        if headers.get("authorization") != f"Bearer {api.key}":
            self._reply(401, json.dumps({"error": "invalid or missing API key"}).encode())
            return
        status, payload = api._answer(url.path, query)
        kind = api.corruptions.get(sid) or api.corruptions.get(None)
        body = _corrupted(payload, kind) if kind and status == 200 else json.dumps(payload).encode()
        self._reply(status, body)

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def running_onprem_api(
    simulator: Simulator | None = None, server_ids: Sequence[str] = DEFAULT_SERVERS
) -> Iterator[OnPremAPI]:
    api = OnPremAPI(simulator, server_ids)
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="session")
def onprem_server() -> Iterator[OnPremAPI]:
    with running_onprem_api() as api:
        yield api


@pytest.fixture
def onprem(onprem_server: OnPremAPI) -> Iterator[OnPremAPI]:
    onprem_server.reset()
    yield onprem_server
    onprem_server.reset()

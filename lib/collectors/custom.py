"""``COLLECTOR_MODE=custom``: an on-premises monitoring API over HTTP.

Three endpoints with ``Authorization: Bearer <ONPREM_API_KEY>``: ``/api/servers``,
``/api/servers/{id}/metrics`` and ``/api/servers/{id}/status``. Every payload is validated
strictly (pydantic); status comes from the role thresholds of lib.sim.status, so it means the
same in every mode; per-server requests run on a bounded thread pool; every failure raises
SourceUnavailable. The contract a server must serve is docs/custom-collector.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lib.core import (
    ConfigError,
    Incident,
    InvalidParameter,
    MetricRow,
    Role,
    ServerTemplate,
    Settings,
    SourceUnavailable,
    UnknownServer,
    format_iso,
    http_url_problem,
    parse_instant,
    pick_servers,
)
from lib.sim import MIN_STEP, RESPONSE_THRESHOLDS, classify, status_name

from .base import Snapshot

__all__ = ["CustomCollector"]

DEFAULT_PLATFORM = "on-premises"
MAX_WORKERS = 8
_SNIPPET = 200  # characters of an error body quoted in a message

T = TypeVar("T")
R = TypeVar("R")


# --- the JSON contract ---------------------------------------------------------------------

Percent = Annotated[float, Field(ge=0, le=100)]
NonNegative = Annotated[float, Field(ge=0)]


class _Payload(BaseModel):
    """Strict: ``"42"`` is not a number and ``1`` is not ``true``; unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


class ServerJSON(_Payload):
    id: Annotated[str, Field(min_length=1)]
    name: str
    hostname: str
    role: Role
    location: str
    environment: str
    cpu_cores: Annotated[int, Field(gt=0)]
    memory_total_mb: Annotated[int, Field(gt=0)]
    disk_total_mb: Annotated[int, Field(gt=0)]
    services: list[str]
    platform: str = DEFAULT_PLATFORM

    def template(self) -> ServerTemplate:
        return ServerTemplate(
            id=self.id, name=self.name, hostname=self.hostname, role=self.role,
            location=self.location, environment=self.environment, cpu_cores=self.cpu_cores,
            memory_total_mb=self.memory_total_mb, disk_total_mb=self.disk_total_mb,
            services=tuple(self.services), platform=self.platform,
        )


class ServerListJSON(_Payload):
    servers: list[ServerJSON]


class PointJSON(_Payload):
    timestamp: int  # sent as an ISO 8601 string, held as epoch seconds
    cpu: Percent
    memory: Percent
    disk: Percent
    response_time: NonNegative | None = None  # ms; null or absent when not measured
    network_rx: NonNegative  # KB/s
    network_tx: NonNegative
    connections: Annotated[int, Field(ge=0)]

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_instant(cls, value: object) -> int:
        if not isinstance(value, str):
            raise ValueError("expected an ISO 8601 date-time string")
        try:
            return parse_instant(value, "timestamp")
        except InvalidParameter as exc:
            raise ValueError(exc.detail) from None


class LatestJSON(PointJSON):
    server_id: str


class SeriesJSON(_Payload):
    server_id: str
    metrics: list[PointJSON]


class StatusJSON(_Payload):
    server_id: str
    online: bool
    uptime: Annotated[int, Field(ge=0)] | None = None  # seconds; null when unknown or offline


M = TypeVar("M", bound=_Payload)


# --- the collector -------------------------------------------------------------------------


class CustomCollector:
    """Collector over the on-premises monitoring API at ``endpoint``.

    ``timeout`` (seconds) bounds each phase of every request (connect, send, wait for the
    answer), and is passed on every request, so an injected ``http_client`` built without
    timeouts still cannot hang. An injected client stays the caller's to close.
    """

    mode = "custom"
    source = "collector"
    seed: int | None = None  # a real source has no seed
    in_process = False

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        http_client: httpx.Client | None = None,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        problem = _endpoint_problem(endpoint)
        if problem:
            raise ValueError(f"endpoint {problem}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if timeout <= 0 or max_workers < 1:
            raise ValueError(f"timeout must be > 0 and max_workers >= 1, got {timeout}, "
                             f"{max_workers}")
        self.endpoint = endpoint.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._timeout_seconds = timeout
        self._timeout = httpx.Timeout(timeout)
        self._max_workers = max_workers
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.Client(
            timeout=self._timeout
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CustomCollector:
        """From ONPREM_API_ENDPOINT, ONPREM_API_KEY, ONPREM_TIMEOUT_SECONDS (ConfigError)."""
        endpoint = (settings.onprem_api_endpoint or "").strip()
        problem = _endpoint_problem(endpoint)
        if problem:
            raise ConfigError("ONPREM_API_ENDPOINT", f"{problem} (COLLECTOR_MODE=custom)")
        key = (settings.onprem_api_key or "").strip()
        if not key:
            raise ConfigError("ONPREM_API_KEY", "required when COLLECTOR_MODE=custom")
        return cls(endpoint, key, timeout=settings.onprem_timeout_seconds)

    # -- Collector ------------------------------------------------------------------------

    def servers(self) -> list[ServerTemplate]:
        """The inventory of ``GET /api/servers``, ordered by id."""
        return self._inventory()

    def snapshot(self, server_ids: Sequence[str] | None, at: int) -> list[Snapshot]:
        """The latest sample and status of each server, ordered by server id.

        The API serves its latest sample whatever ``at`` is: a sample older than ``at`` (a
        server that stopped reporting) comes back with its own timestamp, so staleness shows.
        """
        templates = self._select(server_ids)
        answers = self._map(self._latest_and_status, templates)
        rows = _rows([(t, [latest]) for t, (latest, _) in zip(templates, answers, strict=True)])
        return [
            Snapshot(row, status.uptime, status.online)
            for row, (_, status) in zip(rows, answers, strict=True)
        ]

    def window(
        self, start: int, end: int, step: int, server_ids: Sequence[str] | None = None
    ) -> list[MetricRow]:
        """Samples in [start, end) at ``step`` from the series endpoint, ordered by timestamp
        then server id. Samples the API sends outside [start, end) are dropped."""
        if step < MIN_STEP or int(step) != step:
            raise InvalidParameter("step", f"must be a whole number of seconds >= {MIN_STEP}")
        if end < start:
            raise InvalidParameter("end", "end is before start")
        if end == start:
            return []
        templates = self._select(server_ids)
        params = {"from": format_iso(start), "to": format_iso(end), "step": str(int(step))}
        series = self._map(lambda t: self._series(t.id, params, start, end), templates)
        rows = _rows(list(zip(templates, series, strict=True)))
        rows.sort(key=lambda r: (r.timestamp, r.server_id))
        return rows

    def incidents(self, start: int, end: int) -> list[Incident]:
        """A real source has no ground truth."""
        return []

    def is_online(self, server_id: str) -> bool:
        """``online`` from ``GET /api/servers/{id}/status``."""
        return self._status(server_id).online

    def health(self) -> None:
        """Answers when ``GET /api/servers`` returns a valid inventory."""
        self._inventory()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- requests -------------------------------------------------------------------------

    def _inventory(self) -> list[ServerTemplate]:
        path = "/api/servers"
        listing = self._parse(ServerListJSON, self._get(path), path)
        ids = [s.id for s in listing.servers]
        if len(set(ids)) != len(ids):
            duplicate = next(i for i in ids if ids.count(i) > 1)
            raise self._error(path, f"server id {duplicate!r} is listed twice")
        return sorted((s.template() for s in listing.servers), key=lambda t: t.id)

    def _select(self, server_ids: Sequence[str] | None) -> list[ServerTemplate]:
        """The templates of ``server_ids`` (all when None), deduplicated, ordered by id."""
        if server_ids is not None and not server_ids:
            return []
        return pick_servers(server_ids, {t.id: t for t in self._inventory()})

    def _latest_and_status(self, template: ServerTemplate) -> tuple[LatestJSON, StatusJSON]:
        path = _server_path(template.id, "metrics")
        latest = self._parse(LatestJSON, self._get(path, server_id=template.id), path)
        self._check_echo(path, template.id, latest.server_id)
        return latest, self._status(template.id)

    def _status(self, server_id: str) -> StatusJSON:
        path = _server_path(server_id, "status")
        status = self._parse(StatusJSON, self._get(path, server_id=server_id), path)
        self._check_echo(path, server_id, status.server_id)
        return status

    def _series(
        self, server_id: str, params: dict[str, str], start: int, end: int
    ) -> list[PointJSON]:
        path = _server_path(server_id, "metrics")
        series = self._parse(SeriesJSON, self._get(path, params, server_id=server_id), path)
        self._check_echo(path, server_id, series.server_id)
        points = [p for p in series.metrics if start <= p.timestamp < end]
        stamps = {p.timestamp for p in points}
        if len(stamps) != len(points):
            raise self._error(path, "the series repeats a timestamp")
        return points

    def _get(
        self, path: str, params: dict[str, str] | None = None, *, server_id: str | None = None
    ) -> bytes:
        """The body of a 2xx answer to ``GET path``; every other outcome raises."""
        try:
            response = self._client.get(
                self.endpoint + path, params=params, headers=self._headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise self._error(
                path, f"timed out after {self._timeout_seconds:g} s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise self._error(path, f"request failed: {type(exc).__name__}: {exc}") from exc
        code = response.status_code
        if code == 404 and server_id is not None:
            raise UnknownServer(server_id)
        if code in (401, 403):
            raise self._error(path, f"authentication failed (HTTP {code}); check ONPREM_API_KEY")
        if not response.is_success:
            raise self._error(path, f"HTTP {code} {response.reason_phrase}{_snippet(response)}")
        return response.content

    def _parse(self, model: type[M], body: bytes, path: str) -> M:
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise self._error(path, _describe(exc)) from exc

    def _check_echo(self, path: str, asked: str, answered: str) -> None:
        if answered != asked:
            raise self._error(path, f"answered for server_id {answered!r}, asked for {asked!r}")

    def _error(self, path: str, problem: str) -> SourceUnavailable:
        return SourceUnavailable(f"on-premises API {self.endpoint}: GET {path}: {problem}")

    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(x) for x in items]`` on at most ``max_workers`` threads; the first failure
        (in ``items`` order among those failed) is raised once in-flight requests end."""
        if len(items) <= 1 or self._max_workers == 1:
            return [fn(item) for item in items]
        workers = min(self._max_workers, len(items))
        with ThreadPoolExecutor(workers, thread_name_prefix="onprem") as pool:
            futures = [pool.submit(fn, item) for item in items]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()  # queued ones never start; running ones end within the timeout
            for future in futures:
                if future in done and future.exception() is not None:
                    future.result()  # re-raises it
        return [future.result() for future in futures]


# --- helpers -------------------------------------------------------------------------------


def _endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` is not a usable base URL, or None."""
    if not endpoint:
        return "is required"
    problem = http_url_problem(endpoint, "https://monitoring.example.local")
    if problem is None and (urlsplit(endpoint).query or urlsplit(endpoint).fragment):
        return "must not have a query or fragment"
    return problem


def _server_path(server_id: str, leaf: str) -> str:
    return f"/api/servers/{quote(server_id, safe='')}/{leaf}"


def _rows(samples: Sequence[tuple[ServerTemplate, Sequence[PointJSON]]]) -> list[MetricRow]:
    """MetricRows with statuses classified in one vectorised call; response times in whole ms."""
    flat = [(t, p) for t, points in samples for p in points]
    if not flat:
        return []
    rt = [None if p.response_time is None else round(p.response_time) for _, p in flat]
    codes = classify(
        [p.cpu for _, p in flat],
        [p.memory for _, p in flat],
        [p.disk for _, p in flat],
        np.array([np.nan if v is None else v for v in rt], dtype=np.float64),
        [RESPONSE_THRESHOLDS[t.role][0] for t, _ in flat],
        [RESPONSE_THRESHOLDS[t.role][1] for t, _ in flat],
    ).tolist()
    return [
        MetricRow(p.timestamp, t.id, p.cpu, p.memory, p.disk, ms, p.network_rx, p.network_tx,
                  p.connections, status_name(code))
        for (t, p), ms, code in zip(flat, rt, codes, strict=True)
    ]


def _describe(exc: ValidationError) -> str:
    """One line: malformed JSON, or the first few fields of the wrong shape."""
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        return f"malformed JSON ({errors[0]['msg']})"
    parts = [f"{_location(e['loc'])}: {e['msg']}{_input(e.get('input'))}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "unexpected JSON: " + "; ".join(parts) + more


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _input(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        return f", got {shown[:40]}"
    return ""


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:_SNIPPET]
    return f": {text}" if text else ""


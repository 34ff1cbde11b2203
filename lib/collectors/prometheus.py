"""``COLLECTOR_MODE=prometheus``: PromQL over Prometheus's HTTP API, node_exporter metric names.

Settings: ``PROMETHEUS_ENDPOINT``, ``PROMETHEUS_API_KEY`` (a bearer token) and
``PROMETHEUS_TIMEOUT_SECONDS``. Servers are the ``instance`` labels found; each call sends
all its fields as one tagged PromQL query; every failure raises SourceUnavailable. The
queries, discovery rules and defaults are in docs/prometheus.md.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from lib.core import (
    ROLES,
    ConfigError,
    Incident,
    MetricRow,
    Role,
    ServerTemplate,
    Settings,
    SourceUnavailable,
    check_window,
    http_url_problem,
    pick_servers,
)
from lib.core import promnames as names
from lib.sim import RESPONSE_THRESHOLDS, classify, status_name

from .base import Snapshot

__all__ = ["PrometheusCollector", "promql_fields", "tagged_query"]

_FIELD = "fleet_field"
_MIB = 1 << 20
_MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series and query
_DEFAULT_ROLE: Role = "web"
_ROLE_FIELD = f"group by (instance, role) ({names.MEMORY_TOTAL})"
_ROOT = f'{{mountpoint="{names.ROOT_MOUNTPOINT}"}}'
_CPU_TOTAL = f"{names.CPU_SECONDS}_total"


def promql_fields(rate_window: int) -> dict[str, str]:
    """The PromQL expression of every metric field, one sample per instance.

    Counters are read with ``irate`` (the last two samples in the window), not ``rate``:
    ``rate`` over a window its samples do not yet cover (a Prometheus scraping for only a few
    seconds) extrapolates too little and reads a CPU near 100 %; two samples are enough here.
    """
    w = f"{int(rate_window)}s"
    return {
        "cpu": f'1 - avg by (instance) (irate({_CPU_TOTAL}{{mode="idle"}}[{w}]))',
        "memory": "max by (instance) "
                  f"(1 - {names.MEMORY_AVAILABLE} / {names.MEMORY_TOTAL})",
        "disk": f"max by (instance) (1 - {names.FILESYSTEM_AVAIL}{_ROOT}"
                f" / {names.FILESYSTEM_SIZE}{_ROOT})",
        "network_rx": "sum by (instance) "
                      f'(irate({names.NETWORK_RECEIVE}_total{{device!="lo"}}[{w}])) / 1024',
        "network_tx": "sum by (instance) "
                      f'(irate({names.NETWORK_TRANSMIT}_total{{device!="lo"}}[{w}])) / 1024',
        "response_time": f"max by (instance) ({names.RESPONSE_TIME}) * 1000",
        "connections": f"max by (instance) ({names.CONNECTIONS})",
    }


def _discovery_fields(lookback: int) -> dict[str, str]:
    """Per instance, its template's labels and totals as last seen within ``lookback``."""
    w = f"{int(lookback)}s"
    return {
        "info": f"last_over_time({names.MEMORY_TOTAL}[{w}])",
        "cores": "count by (instance) "
                 f'(last_over_time({_CPU_TOTAL}{{mode="idle"}}[{w}]))',
        "disk_total": 'max by (instance) '
                      f"(last_over_time({names.FILESYSTEM_SIZE}{_ROOT}[{w}]))",
        "uname": f"group by (instance, nodename) (last_over_time({names.UNAME_INFO}[{w}]))",
    }


def _state_fields(lookback: int) -> dict[str, str]:
    """Per instance: target health, start times, and whether it is known at all."""
    w = f"{int(lookback)}s"
    return {
        "up": "max by (instance) (up)",
        "fresh": f"group by (instance) ({names.MEMORY_TOTAL})",
        "started": f"max by (instance) ({names.START_TIME})",
        "boot": f"max by (instance) ({names.BOOT_TIME})",
        "known": f"group by (instance, role) (last_over_time({names.MEMORY_TOTAL}[{w}]))",
    }


def tagged_query(fields: Mapping[str, str]) -> str:
    """One PromQL expression returning every field, each sample labelled ``fleet_field``."""
    return " or ".join(
        f'label_replace({expr}, "{_FIELD}", "{name}", "", "")' for name, expr in fields.items()
    )


@dataclass
class _Series:
    """Samples of one (field, instance): timestamp → value, with the series' labels."""

    labels: dict[str, str]
    values: dict[int, float] = field(default_factory=dict)


# field → instance → series
_Fields = dict[str, dict[str, list[_Series]]]


class PrometheusCollector:
    """Reads servers and their metrics from a Prometheus server's HTTP API."""

    mode = "prometheus"
    source = "collector"
    seed: int | None = None  # a real source has no seed
    in_process = False

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        http_client: httpx.Client | None = None,
        rate_window: int = 60,
        lookback: int = 3600,
    ) -> None:
        problem = http_url_problem(endpoint)
        if problem:
            raise ValueError(f"Prometheus endpoint {problem}")
        if rate_window < 1 or lookback < 1:
            raise ValueError("rate_window and lookback must be positive seconds")
        self.endpoint = endpoint.rstrip("/")
        self.rate_window = int(rate_window)
        self.lookback = int(lookback)
        self._timeout = httpx.Timeout(timeout)
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.Client(
            timeout=self._timeout, follow_redirects=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> PrometheusCollector:
        """Build from PROMETHEUS_*; ConfigError naming the variable when it is unusable."""
        endpoint = (settings.prometheus_endpoint or "").strip()
        if not endpoint:
            raise ConfigError("PROMETHEUS_ENDPOINT", "required when COLLECTOR_MODE=prometheus")
        problem = http_url_problem(endpoint)
        if problem:
            raise ConfigError("PROMETHEUS_ENDPOINT", problem)
        return cls(endpoint, token=settings.prometheus_api_key,
                   timeout=settings.prometheus_timeout_seconds)

    # --- the Collector protocol ----------------------------------------------------------

    def servers(self) -> list[ServerTemplate]:
        fields = self._instant(_discovery_fields(self.lookback), None)
        return [self._template(instance, fields) for instance in sorted(fields.get("info", {}))]

    def snapshot(self, server_ids: Sequence[str] | None, at: int) -> list[Snapshot]:
        """Each server's metrics evaluated at ``at`` (rates over the preceding window)."""
        fields = self._instant({**promql_fields(self.rate_window),
                                **_state_fields(self.lookback)}, at)
        known = fields.get("known", {})
        ids = [str(i) for i in pick_servers(server_ids, {k: k for k in known})]
        roles = {i: _label(known[i], "role") for i in ids}
        snapshots = []
        for instance in ids:
            row = _row(fields, instance, at, roles[instance])
            if row is None or not _online(fields, instance):
                snapshots.append(Snapshot(_offline_row(instance, at), None, False))
            else:
                snapshots.append(Snapshot(row, _uptime(fields, instance, at), True))
        return snapshots

    def window(
        self, start: int, end: int, step: int, server_ids: Sequence[str] | None = None
    ) -> list[MetricRow]:
        """Rows at every ``step`` of [start, end) where the server had samples."""
        ticks = _grid(start, end, step)
        wanted = set(server_ids) if server_ids is not None else None
        if wanted is not None:
            known = self._instant(_state_fields(self.lookback), None).get("known", {})
            pick_servers(server_ids, known)
        rows: list[MetricRow] = []
        for lo in range(0, len(ticks), _MAX_POINTS):
            chunk = ticks[lo:lo + _MAX_POINTS]
            fields = self._range({**promql_fields(self.rate_window), "role": _ROLE_FIELD},
                                 chunk[0], chunk[-1], step)
            roles = {i: _label(s, "role") for i, s in fields.get("role", {}).items()}
            instances = sorted(i for i in fields.get("cpu", {}) if wanted is None or i in wanted)
            for ts in chunk:
                for instance in instances:
                    row = _row(fields, instance, ts, roles.get(instance), ts)
                    if row is not None:
                        rows.append(row)
        return rows

    def incidents(self, start: int, end: int) -> list[Incident]:
        """Real sources keep no ground truth."""
        return []

    def is_online(self, server_id: str) -> bool:
        fields = self._instant(_state_fields(self.lookback), None)
        pick_servers([server_id], fields.get("known", {}))
        return _online(fields, server_id)

    def health(self) -> None:
        """A trivial query: proves the API answers, authentication included."""
        self._call("/api/v1/query", {"query": "1"}, "scalar")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # --- internals -----------------------------------------------------------------------

    def _template(self, instance: str, fields: _Fields) -> ServerTemplate:
        info = fields["info"][instance][0]
        labels = info.labels
        role = labels.get("role", "")
        uname = fields.get("uname", {}).get(instance)
        hostname = _label(uname, "nodename") if uname else None
        return ServerTemplate(
            id=instance,
            name=labels.get("name") or instance,
            hostname=hostname or instance,
            role=_as_role(role) or _DEFAULT_ROLE,
            location=labels.get("location") or "unknown",
            environment=labels.get("environment") or "unknown",
            cpu_cores=int(_first(fields, "cores", instance) or 0),
            memory_total_mb=int(_first_value(info) // _MIB),
            disk_total_mb=int((_first(fields, "disk_total", instance) or 0) // _MIB),
            services=(),
            platform=labels.get("platform") or "vm",
        )

    def _instant(self, fields: Mapping[str, str], at: int | None) -> _Fields:
        form = {"query": tagged_query(fields)}
        if at is not None:
            form["time"] = str(int(at))
        data = self._call("/api/v1/query", form, "vector")
        return _collect(data, ranged=False)

    def _range(self, fields: Mapping[str, str], first: int, last: int, step: int) -> _Fields:
        form = {"query": tagged_query(fields), "start": str(first), "end": str(last),
                "step": str(step)}
        data = self._call("/api/v1/query_range", form, "matrix")
        return _collect(data, ranged=True)

    def _call(self, path: str, form: dict[str, str], result_type: str) -> list[Any]:
        """POST a query form; the ``data.result`` list of the expected type, or raise."""
        url = self.endpoint + path
        try:
            response = self._client.post(url, data=form, headers=self._headers,
                                         timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(f"Prometheus at {self.endpoint} timed out on {path}") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"Prometheus at {self.endpoint} is unreachable ({path}): {exc}"
            ) from exc
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceUnavailable(
                f"Prometheus at {self.endpoint} answered {path} with HTTP "
                f"{response.status_code} and a body that is not JSON: {response.text[:200]!r}"
            ) from exc
        error = _error_text(body)
        if error is not None or not response.is_success:
            raise SourceUnavailable(
                f"Prometheus at {self.endpoint} answered {path} with HTTP "
                f"{response.status_code}: {error or 'no error message'}"
            )
        return _result(body, result_type, f"Prometheus at {self.endpoint} ({path})")


def _grid(start: int, end: int, step: int) -> list[int]:
    """Instants of [start, end) on the grid of multiples of ``step`` (any whole seconds)."""
    return list(range(check_window(start, end, step, min_step=1), end, step))


# --- parsing -------------------------------------------------------------------------------


def _error_text(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    if body.get("status") == "success":
        return None
    kind, text = body.get("errorType"), body.get("error")
    return f"{kind}: {text}" if kind else str(text or f"status {body.get('status')!r}")


def _result(body: object, result_type: str, where: str) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise SourceUnavailable(f"{where} returned a reply without data.result: {body!r:.200}")
    if data.get("resultType") != result_type:
        raise SourceUnavailable(
            f"{where} returned a {data.get('resultType')!r} result, expected {result_type!r}"
        )
    result: list[Any] = data["result"]
    return result


def _collect(result: list[Any], *, ranged: bool) -> _Fields:
    """Group result series by (fleet_field, instance); malformed series raise."""
    fields: _Fields = defaultdict(lambda: defaultdict(list))
    for item in result:
        try:
            labels = dict(item["metric"])
            points = item["values"] if ranged else [item["value"]]
            values = {int(float(t)): float(v) for t, v in points}
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"Prometheus returned a malformed series: {item!r:.200}") \
                from exc
        name, instance = labels.pop(_FIELD, None), labels.get("instance")
        if name is None or instance is None:
            continue
        fields[name][instance].append(_Series(labels, values))
    return fields


def _label(series: Sequence[_Series] | None, name: str) -> str | None:
    for s in series or ():
        if s.labels.get(name):
            return s.labels[name]
    return None


def _first_value(series: _Series) -> float:
    return next(iter(series.values.values()), 0.0)


def _first(fields: _Fields, name: str, instance: str) -> float | None:
    series = fields.get(name, {}).get(instance)
    return _first_value(series[0]) if series else None


def _value(fields: _Fields, name: str, instance: str, ts: int | None) -> float | None:
    """The field's finite value for the instance (at ``ts`` in a range result)."""
    for s in fields.get(name, {}).get(instance, ()):
        v = s.values.get(ts) if ts is not None else _first_value(s)
        if v is not None and math.isfinite(v):
            return v
    return None


def _as_role(text: str | None) -> Role | None:
    return next((r for r in ROLES if r == text), None)


def _pct(ratio: float) -> float:
    return round(min(max(ratio * 100.0, 0.0), 100.0), 2)


def _row(
    fields: _Fields, instance: str, at: int, role: str | None, ts: int | None = None
) -> MetricRow | None:
    """The instance's row, or None when CPU, memory or disk has no sample."""
    cpu, memory, disk = (_value(fields, n, instance, ts) for n in ("cpu", "memory", "disk"))
    if cpu is None or memory is None or disk is None:
        return None
    rt = _value(fields, "response_time", instance, ts)
    response = None if rt is None else round(rt)
    rx = _value(fields, "network_rx", instance, ts) or 0.0
    tx = _value(fields, "network_tx", instance, ts) or 0.0
    connections = _value(fields, "connections", instance, ts)
    row_role = _as_role(role)
    warn, crit = RESPONSE_THRESHOLDS[row_role] if row_role else (math.nan, math.nan)
    cpu_p, mem_p, disk_p = _pct(cpu), _pct(memory), _pct(disk)
    status = classify(cpu_p, mem_p, disk_p, math.nan if response is None else response,
                      warn, crit)
    return MetricRow(
        timestamp=at, server_id=instance, cpu=cpu_p, memory=mem_p, disk=disk_p,
        response_time=response, network_rx=round(max(rx, 0.0), 2),
        network_tx=round(max(tx, 0.0), 2),
        connections=0 if connections is None else round(connections),
        status=status_name(int(status)),
    )


def _offline_row(instance: str, at: int) -> MetricRow:
    return MetricRow(at, instance, 0.0, 0.0, 0.0, None, 0.0, 0.0, 0, "critical")


def _online(fields: _Fields, instance: str) -> bool:
    """``up`` when the instance is a scrape target of its own, else whether it is fresh."""
    up = _value(fields, "up", instance, None)
    fresh = _value(fields, "fresh", instance, None) is not None
    return fresh and (up is None or up >= 1)


def _uptime(fields: _Fields, instance: str, at: int) -> int | None:
    started = _value(fields, "started", instance, None)
    if started is None:
        started = _value(fields, "boot", instance, None)
    return None if started is None else max(int(at - started), 0)

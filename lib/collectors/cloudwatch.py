"""``COLLECTOR_MODE=cloudwatch``: EC2 instances found by tag, their metrics from CloudWatch.

Servers are the EC2 instances (pending to stopped) that carry the tag ``CLOUDWATCH_TAG_KEY``
(``fleet``; only the value ``CLOUDWATCH_TAG_VALUE`` when that is set). Each snapshot or window
is one batched ``GetMetricData`` (500 queries a call, NextToken pages) over ``AWS/EC2``
CPUUtilization and NetworkIn/Out and the CloudWatch agent's ``CWAgent`` mem_used_percent,
disk_used_percent on ``/`` and netstat_tcp_established, whose dimension sets ``ListMetrics``
finds. Tags, templates, periods, IAM permissions and cost: docs/cloudwatch-collector.md.

The AWS SDK's core (botocore) signs and sends. Only the factory imports this module, and only
for ``COLLECTOR_MODE=cloudwatch``, so no other mode loads the SDK. Timeouts are explicit and
each call is tried ``max_attempts`` times (once by default: the caller decides, the API
answers 503). Every SDK failure raises SourceUnavailable ``from`` the cause; no message
carries a secret.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import botocore.session
import numpy as np
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from lib.core import (
    ROLES,
    ConfigError,
    Incident,
    InvalidParameter,
    MetricRow,
    Role,
    ServerTemplate,
    Settings,
    SourceUnavailable,
    http_url_problem,
    pick_servers,
)
from lib.sim import RESPONSE_THRESHOLDS, classify, status_name

from .base import Snapshot

__all__ = ["METRICS", "CloudWatchCollector", "Metric", "make_clients"]

MAX_QUERIES = 500  # GetMetricData's limit of queries per call
MAX_PAGES = 100  # NextToken pages of one listing: a runaway paginator must not hang a request
LISTED_STATES = ("pending", "running", "stopping", "stopped")
PLATFORM = "aws"
_DEFAULT_ROLE: Role = "web"
_SUB_MINUTE_PERIODS = (1, 5, 10, 20, 30)  # GetMetricData periods under a minute
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_AUTH_CODES = frozenset({
    "AuthFailure", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
    "InvalidAccessKeyId", "InvalidClientTokenId", "MissingAuthenticationToken",
    "SignatureDoesNotMatch", "UnrecognizedClientException",
})
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_CREDENTIALS = "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
_SNIPPET = 200


@dataclass(frozen=True, slots=True)
class Metric:
    """One CloudWatch metric read into a row field."""

    field: str
    namespace: str
    name: str
    stat: str
    dimensions: tuple[tuple[str, str], ...] = ()  # besides InstanceId (agent metrics only)

    @property
    def agent(self) -> bool:
        """Published by the CloudWatch agent, with dimension sets found by ListMetrics."""
        return self.namespace == "CWAgent"


METRICS: tuple[Metric, ...] = (
    Metric("cpu", "AWS/EC2", "CPUUtilization", "Average"),
    Metric("network_rx", "AWS/EC2", "NetworkIn", "Sum"),
    Metric("network_tx", "AWS/EC2", "NetworkOut", "Sum"),
    Metric("memory", "CWAgent", "mem_used_percent", "Average"),
    Metric("disk", "CWAgent", "disk_used_percent", "Average", (("path", "/"),)),
    Metric("connections", "CWAgent", "netstat_tcp_established", "Average"),
)

# (instance id, row field) → {timestamp: value}
_Values = dict[tuple[str, str], dict[int, float]]


@dataclass(frozen=True, slots=True)
class Instance:
    """An EC2 instance as discovered, with the server id it is reported under."""

    server_id: str
    instance_id: str
    state: str
    role: Role
    instance_type: str
    launched: int | None
    hostname: str
    zone: str
    vcpus: int | None  # CpuOptions when the API reports them
    root_volume: str | None
    tags: Mapping[str, str]


def make_clients(
    region: str,
    access_key_id: str,
    secret_access_key: str,
    *,
    session_token: str | None = None,
    endpoint_url: str | None = None,
    timeout: float = 5.0,
    max_attempts: int = 1,
) -> tuple[Any, Any]:
    """EC2 and CloudWatch clients with explicit credentials, timeouts and bounded retries."""
    config = Config(connect_timeout=timeout, read_timeout=timeout,
                    retries={"total_max_attempts": max_attempts, "mode": "standard"})
    session = botocore.session.Session()
    options: dict[str, Any] = {
        "region_name": region, "endpoint_url": endpoint_url, "config": config,
        "aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key,
        "aws_session_token": session_token,
    }
    return session.create_client("ec2", **options), session.create_client("cloudwatch",
                                                                            **options)


class CloudWatchCollector:
    """Reads EC2 instances and their CloudWatch metrics.

    ``period`` is the seconds of one datapoint as the instances publish it (300 with basic
    monitoring, 60 with detailed); a snapshot reads the newest of the last ``lookback``
    periods. Clients passed in stay the caller's to close unless ``owns_clients``.
    """

    mode = "cloudwatch"
    source = "collector"
    seed: int | None = None  # a real source has no seed
    in_process = False

    def __init__(
        self,
        ec2: Any,
        cloudwatch: Any,
        *,
        tag_key: str = "fleet",
        tag_value: str | None = None,
        period: int = 300,
        lookback: int = 3,
        owns_clients: bool = False,
    ) -> None:
        if not tag_key:
            raise ValueError("tag_key must not be empty")
        if period < 60 or period % 60 or lookback < 1:
            raise ValueError(f"period must be a multiple of 60 s and lookback >= 1, got "
                             f"{period}, {lookback}")
        self.tag_key, self.tag_value = tag_key, tag_value
        self.period, self.lookback = int(period), int(lookback)
        self._ec2, self._cw = ec2, cloudwatch
        self._owns_clients = owns_clients
        self._types: dict[str, tuple[int, int]] = {}  # instance type → (vCPUs, MiB): fixed

    @classmethod
    def from_settings(cls, settings: Settings) -> CloudWatchCollector:
        """From AWS_* and CLOUDWATCH_*; ConfigError naming the variable (never its secret)."""
        region = _region(settings)
        key_id = settings.aws_access_key_id
        if not key_id:
            raise ConfigError("AWS_ACCESS_KEY_ID", "required when COLLECTOR_MODE=cloudwatch")
        secret = _secret(settings.aws_secret_access_key)
        if not secret:
            raise ConfigError("AWS_SECRET_ACCESS_KEY", "required when COLLECTOR_MODE=cloudwatch")
        endpoint = settings.aws_endpoint_url
        problem = http_url_problem(endpoint) if endpoint is not None else None
        if problem is not None:
            raise ConfigError("AWS_ENDPOINT_URL", problem)
        tag_key = settings.cloudwatch_tag_key
        if settings.cloudwatch_period_seconds % 60:
            raise ConfigError("CLOUDWATCH_PERIOD_SECONDS", "must be a multiple of 60 (300 with "
                              "basic monitoring, 60 with detailed)")
        try:
            ec2, cw = make_clients(region, key_id, secret,
                                   session_token=_secret(settings.aws_session_token) or None,
                                   endpoint_url=endpoint,
                                   timeout=settings.cloudwatch_timeout_seconds)
        except ProfileNotFound as exc:
            raise ConfigError("AWS_PROFILE", str(exc)) from None
        return cls(ec2, cw, tag_key=tag_key,
                   tag_value=(settings.cloudwatch_tag_value or "").strip() or None,
                   period=settings.cloudwatch_period_seconds, owns_clients=True)

    # --- the Collector protocol ----------------------------------------------------------

    def servers(self) -> list[ServerTemplate]:
        """The tagged instances as templates, ordered by server id."""
        instances = self._discover()
        specs = self._type_specs({i.instance_type for i in instances})
        disks = self._volume_sizes([i.root_volume for i in instances if i.root_volume])
        return [_template(i, specs.get(i.instance_type), disks.get(i.root_volume or ""))
                for i in instances]

    def snapshot(self, server_ids: Sequence[str] | None, at: int) -> list[Snapshot]:
        """The newest datapoint of each metric within ``lookback`` periods of ``at``.

        A stopped (or pending, stopping) instance, or one without a fresh CPU, memory and disk
        datapoint, is reported offline with zeros and status ``critical``.
        """
        if server_ids is not None and not server_ids:
            return []
        chosen = self._select(server_ids)
        running = [i for i in chosen if i.state == "running"]
        last = at - at % self.period
        values = self._fetch(running, last - (self.lookback - 1) * self.period,
                             last + self.period, self.period)
        samples = [(i, at, _newest(values, i.instance_id, at)) for i in running]
        rows = {r.server_id: r for r in _rows(samples, self.period)}
        return [
            Snapshot(rows[i.server_id], _uptime(i, at), True) if i.server_id in rows
            else Snapshot(_offline_row(i.server_id, at), None, False)
            for i in chosen
        ]

    def window(
        self, start: int, end: int, step: int, server_ids: Sequence[str] | None = None
    ) -> list[MetricRow]:
        """Rows at every ``step`` of [start, end) where CPU, memory and disk have a datapoint
        (the period of each query is ``step``), ordered by timestamp then server id."""
        _check_step(step)
        if end < start:
            raise InvalidParameter("end", "end is before start")
        first = -(-start // step) * step
        if first >= end:
            return []
        chosen = self._select(server_ids)
        stop = first + -(-(end - first) // step) * step
        values = self._fetch(chosen, first, stop, step)
        samples = [(i, ts, fields) for i in chosen
                   for ts, fields in _aligned(values, i.instance_id, first, end, step)]
        rows = _rows(samples, max(step, self.period))
        rows.sort(key=lambda r: (r.timestamp, r.server_id))
        return rows

    def incidents(self, start: int, end: int) -> list[Incident]:
        """Real sources keep no ground truth."""
        return []

    def is_online(self, server_id: str) -> bool:
        """Whether the instance is in the ``running`` state."""
        [instance] = self._select([server_id])
        return instance.state == "running"

    def health(self) -> None:
        """One small call to each API: proves the endpoints, credentials and permissions."""
        self._call(self._ec2, "DescribeInstances", Filters=[self._tag_filter()], MaxResults=5)
        self._call(self._cw, "ListMetrics", Namespace="AWS/EC2", MetricName="CPUUtilization")

    def close(self) -> None:
        if self._owns_clients:
            self._ec2.close()
            self._cw.close()

    # --- discovery -----------------------------------------------------------------------

    def _tag_filter(self) -> dict[str, Any]:
        if self.tag_value is None:
            return {"Name": "tag-key", "Values": [self.tag_key]}
        return {"Name": f"tag:{self.tag_key}", "Values": [self.tag_value]}

    def _discover(self) -> list[Instance]:
        """Tagged instances, pending to stopped, ordered by server id."""
        filters = [self._tag_filter(), {"Name": "instance-state-name",
                                        "Values": list(LISTED_STATES)}]
        reservations = self._pages(self._ec2, "DescribeInstances", "Reservations",
                                   Filters=filters, MaxResults=1000)
        try:
            raw = [i for r in reservations for i in r.get("Instances", [])]
            return _instances(raw, self.tag_key)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self._error(self._ec2, "DescribeInstances", f"unexpected reply: {exc!r}") \
                from exc

    def _select(self, server_ids: Sequence[str] | None) -> list[Instance]:
        return pick_servers(server_ids, {i.server_id: i for i in self._discover()})

    def _type_specs(self, types: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(vCPUs, memory MiB) per instance type; types never change, so they are kept."""
        missing = sorted(set(types) - set(self._types))
        for lo in range(0, len(missing), 100):
            found = self._pages(self._ec2, "DescribeInstanceTypes", "InstanceTypes",
                                InstanceTypes=missing[lo:lo + 100])
            try:
                self._types.update({item["InstanceType"]: (
                    int(item.get("VCpuInfo", {}).get("DefaultVCpus", 0)),
                    int(item.get("MemoryInfo", {}).get("SizeInMiB", 0)),
                ) for item in found})
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._error(self._ec2, "DescribeInstanceTypes",
                                  f"unexpected reply: {exc!r}") from exc
        return self._types

    def _volume_sizes(self, volume_ids: Sequence[str]) -> dict[str, int]:
        """GiB per EBS volume id; a volume gone meanwhile is simply absent."""
        sizes: dict[str, int] = {}
        for lo in range(0, len(volume_ids), 200):
            chunk = list(volume_ids[lo:lo + 200])
            found = self._pages(self._ec2, "DescribeVolumes", "Volumes",
                                Filters=[{"Name": "volume-id", "Values": chunk}])
            try:
                sizes.update({item["VolumeId"]: int(item.get("Size", 0)) for item in found})
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._error(self._ec2, "DescribeVolumes", f"unexpected reply: {exc!r}") \
                    from exc
        return sizes

    # --- metrics -------------------------------------------------------------------------

    def _fetch(self, instances: Sequence[Instance], start: int, end: int, period: int
               ) -> _Values:
        """Every metric of the instances over [start, end) at ``period``: one GetMetricData
        per 500 queries, its pages merged."""
        if not instances or end <= start:
            return {}
        queries, keys = self._queries(instances, period)
        values: _Values = {}
        for lo in range(0, len(queries), MAX_QUERIES):
            results = self._pages(
                self._cw, "GetMetricData", "MetricDataResults",
                MetricDataQueries=queries[lo:lo + MAX_QUERIES], ScanBy="TimestampAscending",
                StartTime=datetime.fromtimestamp(start, UTC),
                EndTime=datetime.fromtimestamp(end, UTC),
            )
            for result in results:
                self._merge(values, keys, result)
        return values

    def _merge(self, values: _Values, keys: Mapping[str, tuple[str, str]],
               result: Mapping[str, Any]) -> None:
        status = result.get("StatusCode")
        if status in ("InternalError", "Forbidden"):
            raise self._error(self._cw, "GetMetricData",
                              f"query {result.get('Label') or result.get('Id')}: {status}")
        try:
            series = values.setdefault(keys[result["Id"]], {})
            for ts, value in zip(result["Timestamps"], result["Values"], strict=True):
                series[int(ts.timestamp())] = float(value)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self._error(self._cw, "GetMetricData", f"unexpected result: {result!r:.200}") \
                from exc

    def _queries(self, instances: Sequence[Instance], period: int
                 ) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
        """The MetricDataQueries (ids ``q0``, ``q1``, …) and what each id is."""
        agent = self._agent_dimensions({i.instance_id for i in instances})
        queries: list[dict[str, Any]] = []
        keys: dict[str, tuple[str, str]] = {}
        for instance in instances:
            for metric in METRICS:
                dims = (agent.get((metric.name, instance.instance_id)) if metric.agent
                        else [{"Name": "InstanceId", "Value": instance.instance_id}])
                if dims is None:
                    continue  # the agent does not publish it there: not asked, not billed
                qid = f"q{len(queries)}"
                keys[qid] = (instance.instance_id, metric.field)
                queries.append({"Id": qid, "ReturnData": True, "MetricStat": {
                    "Metric": {"Namespace": metric.namespace, "MetricName": metric.name,
                               "Dimensions": dims},
                    "Period": period, "Stat": metric.stat}})
        return queries, keys

    def _agent_dimensions(self, instance_ids: set[str]
                          ) -> dict[tuple[str, str], list[dict[str, str]]]:
        """The dimension set of each agent metric per instance (agents append their own, e.g.
        ImageId, InstanceType; disks add device and fstype): the fewest, then alphabetical."""
        found: dict[tuple[str, str], list[dict[str, str]]] = {}
        for metric in (m for m in METRICS if m.agent):
            wanted = [{"Name": "InstanceId"},
                      *({"Name": k, "Value": v} for k, v in metric.dimensions)]
            listed = self._pages(self._cw, "ListMetrics", "Metrics", Namespace=metric.namespace,
                                 MetricName=metric.name, Dimensions=wanted)
            for item in listed:
                # As listed: CloudWatch ignores the order, moto's comparison does not.
                dims = [{"Name": d["Name"], "Value": d["Value"]}
                        for d in item.get("Dimensions", [])]
                iid = next((d["Value"] for d in dims if d["Name"] == "InstanceId"), None)
                key = (metric.name, iid or "")
                if iid in instance_ids and (key not in found or _order(dims) < _order(found[key])):
                    found[key] = dims
        return found

    # --- calls ---------------------------------------------------------------------------

    def _pages(self, client: Any, operation: str, key: str, **params: Any) -> list[Any]:
        """``reply[key]`` of every page, following NextToken (at most MAX_PAGES)."""
        items: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            reply = self._call(client, operation, **params,
                               **({"NextToken": token} if token else {}))
            page = reply.get(key, [])
            if not isinstance(page, list):
                raise self._error(client, operation, f"{key} is not a list: {page!r:.200}")
            items.extend(page)
            token = reply.get("NextToken")
            if not token:
                return items
        raise self._error(client, operation, f"still paging after {MAX_PAGES} pages")

    def _call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """One SDK call; every failure becomes SourceUnavailable ``from`` the SDK's error."""
        try:
            reply = getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            raise self._error(client, operation, _client_problem(exc)) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            seconds = client.meta.config.read_timeout
            raise self._error(client, operation,
                              f"timed out after {seconds:g} s ({type(exc).__name__})") from exc
        except EndpointConnectionError as exc:
            raise self._error(client, operation, f"unreachable: {exc}") from exc
        except BotoCoreError as exc:
            raise self._error(client, operation,
                              f"request failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(reply, dict):
            raise self._error(client, operation, f"unexpected reply {reply!r:.200}")
        return reply

    def _error(self, client: Any, operation: str, problem: str) -> SourceUnavailable:
        service = client.meta.service_model.service_name
        return SourceUnavailable(
            f"AWS {service} {operation} at {client.meta.endpoint_url}: {problem}")


# --- helpers -----------------------------------------------------------------------------


def _region(settings: Settings) -> str:
    region = (settings.aws_region or settings.aws_default_region or "").strip()
    variable = "AWS_REGION" if settings.aws_region or not settings.aws_default_region \
        else "AWS_DEFAULT_REGION"
    if not region:
        raise ConfigError("AWS_REGION", "required when COLLECTOR_MODE=cloudwatch (or "
                          "AWS_DEFAULT_REGION)")
    if not _REGION.fullmatch(region):
        raise ConfigError(variable, f"is not a region name such as eu-west-1: {region!r}")
    return region


def _secret(value: Any) -> str:
    return str(value.get_secret_value()).strip() if value is not None else ""


def _check_step(step: int) -> None:
    if int(step) != step or not (step in _SUB_MINUTE_PERIODS or (step >= 60 and step % 60 == 0)):
        raise InvalidParameter("step", "CloudWatch periods are 1, 5, 10, 20, 30 or a multiple "
                               "of 60 seconds")


def _client_problem(exc: ClientError) -> str:
    """One line for an AWS error answer; authentication and permission failures say so."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
    # An error body the protocol's parser could not read (XML answering a CBOR request)
    # leaves the HTTP status as the code and the body as the message.
    embedded = re.search(r"<Code>([^<]+)</Code>", message)
    if embedded and (not code or code.isdigit()):
        code = embedded[1]
        text = re.search(r"<Message>([^<]*)</Message>", message)
        message = text[1] if text else ""
    label = code or f"HTTP {status}"
    if code in _AUTH_CODES or status == 401:
        return f"authentication failed ({label}); check {_CREDENTIALS}"
    if code in _DENIED_CODES or status == 403:
        return (f"access denied ({label}): {message[:_SNIPPET]} (permissions needed: "
                "docs/cloudwatch-collector.md)")
    return f"{label}: {' '.join(message.split())[:_SNIPPET]}"


def _instances(raw: Sequence[Mapping[str, Any]], tag_key: str) -> list[Instance]:
    """Server ids: the ``Name`` tag where no other instance has it, else the instance id."""
    tags = [{t["Key"]: str(t.get("Value", "")) for t in item.get("Tags", [])} for item in raw]
    names = Counter(t.get("Name", "").strip() for t in tags)
    found = []
    for item, tag in zip(raw, tags, strict=True):
        name = tag.get("Name", "").strip()
        sid = name if name and names[name] == 1 else str(item["InstanceId"])
        found.append(_instance(item, sid, tag))
    return sorted(found, key=lambda i: i.server_id)


def _instance(item: Mapping[str, Any], server_id: str, tags: dict[str, str]) -> Instance:
    cpu = item.get("CpuOptions") or {}
    vcpus = int(cpu["CoreCount"]) * int(cpu.get("ThreadsPerCore", 1)) \
        if cpu.get("CoreCount") else None
    root = item.get("RootDeviceName")
    volume = next((m["Ebs"]["VolumeId"] for m in item.get("BlockDeviceMappings", [])
                   if m.get("DeviceName") == root and "Ebs" in m), None)
    launched = item.get("LaunchTime")
    return Instance(
        server_id=server_id, instance_id=str(item["InstanceId"]),
        state=str(item["State"]["Name"]), role=_as_role(tags.get("role")) or _DEFAULT_ROLE,
        instance_type=str(item.get("InstanceType", "")),
        launched=int(launched.timestamp()) if launched is not None else None,
        hostname=str(item.get("PrivateDnsName") or ""),
        zone=str(item.get("Placement", {}).get("AvailabilityZone") or ""),
        vcpus=vcpus, root_volume=volume, tags=tags,
    )


def _as_role(text: str | None) -> Role | None:
    wanted = (text or "").strip().lower()
    return next((r for r in ROLES if r == wanted), None)


def _template(instance: Instance, spec: tuple[int, int] | None, disk_gib: int | None
              ) -> ServerTemplate:
    tags = instance.tags
    services = tuple(s.strip() for s in tags.get("services", "").split(",") if s.strip())
    return ServerTemplate(
        id=instance.server_id,
        name=tags.get("Name", "").strip() or instance.instance_id,
        hostname=instance.hostname or instance.instance_id,
        role=instance.role,
        location=tags.get("location") or instance.zone or "unknown",
        environment=tags.get("environment") or "unknown",
        cpu_cores=instance.vcpus or (spec[0] if spec else 0),
        memory_total_mb=spec[1] if spec else 0,
        disk_total_mb=(disk_gib or 0) * 1024,
        services=services,
        platform=PLATFORM,
    )


def _order(dims: list[dict[str, str]]) -> tuple[int, list[tuple[str, str]]]:
    return len(dims), sorted((d["Name"], d["Value"]) for d in dims)


def _newest(values: _Values, instance_id: str, at: int) -> dict[str, float | None]:
    """Each field's newest value at or before ``at``."""
    latest: dict[str, float | None] = {}
    for metric in METRICS:
        series = values.get((instance_id, metric.field), {})
        stamps = [ts for ts in series if ts <= at]
        latest[metric.field] = series[max(stamps)] if stamps else None
    return latest


def _aligned(values: _Values, instance_id: str, first: int, end: int, step: int
             ) -> list[tuple[int, dict[str, float | None]]]:
    """(timestamp, fields) at the grid instants of [first, end) with any datapoint."""
    series = {m.field: values.get((instance_id, m.field), {}) for m in METRICS}
    stamps = sorted({ts for s in series.values() for ts in s
                     if first <= ts < end and (ts - first) % step == 0})
    return [(ts, {f: s.get(ts) for f, s in series.items()}) for ts in stamps]


def _rows(samples: Sequence[tuple[Instance, int, Mapping[str, float | None]]], seconds: int
          ) -> list[MetricRow]:
    """Rows of the samples with CPU, memory and disk, statuses classified in one call.

    Network sums are bytes per datapoint period: ``seconds`` is the longer of the query period
    and the period the instances publish at.
    """
    full = [(i, ts, f) for i, ts, f in samples
            if f["cpu"] is not None and f["memory"] is not None and f["disk"] is not None]
    if not full:
        return []
    pct = {name: [_pct(f[name]) for _, _, f in full] for name in ("cpu", "memory", "disk")}
    codes = classify(pct["cpu"], pct["memory"], pct["disk"], np.full(len(full), np.nan),
                     [RESPONSE_THRESHOLDS[i.role][0] for i, _, _ in full],
                     [RESPONSE_THRESHOLDS[i.role][1] for i, _, _ in full]).tolist()
    return [
        MetricRow(ts, i.server_id, cpu, memory, disk, None,
                  _kb_per_s(f["network_rx"], seconds), _kb_per_s(f["network_tx"], seconds),
                  _count(f["connections"]), status_name(code))
        for (i, ts, f), cpu, memory, disk, code in zip(
            full, pct["cpu"], pct["memory"], pct["disk"], codes, strict=True)
    ]


def _pct(value: float | None) -> float:
    v = 0.0 if value is None or not math.isfinite(value) else value
    return round(min(max(v, 0.0), 100.0), 2)


def _kb_per_s(total_bytes: float | None, seconds: int) -> float:
    if total_bytes is None or not math.isfinite(total_bytes):
        return 0.0
    return round(max(total_bytes, 0.0) / seconds / 1024, 2)


def _count(value: float | None) -> int:
    return 0 if value is None or not math.isfinite(value) else max(round(value), 0)


def _offline_row(server_id: str, at: int) -> MetricRow:
    return MetricRow(at, server_id, 0.0, 0.0, 0.0, None, 0.0, 0.0, 0, "critical")


def _uptime(instance: Instance, at: int) -> int | None:
    """Seconds since the instance last started (LaunchTime resets on every start)."""
    if instance.launched is None or instance.launched > at:
        return None
    return at - instance.launched

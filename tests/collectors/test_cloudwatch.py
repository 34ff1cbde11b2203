"""CloudWatchCollector against moto's server mode (tests/services/moto.py): instances made with
RunInstances, metrics put with PutMetricData, the collector's own SDK calls recorded and
asserted; at the SDK boundary (botocore's Stubber) for paging and the 500-query split."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from lib.collectors import Collector, Snapshot, get_collector
from lib.collectors.cloudwatch import CloudWatchCollector, make_clients
from lib.core import (
    ConfigError,
    InvalidParameter,
    MetricRow,
    Settings,
    SourceUnavailable,
    UnknownServer,
)
from lib.sim.fleet import ServerTemplate
from tests.services.moto import KEY_ID, REGION, SECRET, MotoServer
from tests.services.processes import free_port

REPO = Path(__file__).resolve().parents[2]
# The next whole hour: aligned with every period and step used here, and after every launch.
AT = (int(time.time()) // 3600 + 1) * 3600
STATES = ["pending", "running", "stopping", "stopped"]
FLEET_FILTER = [{"Name": "tag-key", "Values": ["fleet"]},
                {"Name": "instance-state-name", "Values": STATES}]
AUTH_FAILED = ("authentication failed (AuthFailure); check AWS_ACCESS_KEY_ID, "
               "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
FULL = {"cpu": 43.21, "memory": 50.5, "disk": 61.25, "network_in": 1_536_000.0,
        "network_out": 307_200.0, "connections": 41.4}


def connect(moto: MotoServer, key_id: str = KEY_ID, secret: str = SECRET,
            **options: Any) -> CloudWatchCollector:
    clients = make_clients(REGION, key_id, secret, endpoint_url=moto.url, timeout=2.0)
    return CloudWatchCollector(*clients, owns_clients=True, **options)


def recorded(moto: MotoServer) -> tuple[CloudWatchCollector, list[tuple[str, dict[str, Any]]]]:
    """A collector whose every SDK call (operation, parameters) is recorded before sending."""
    calls: list[tuple[str, dict[str, Any]]] = []
    ec2, cw = make_clients(REGION, KEY_ID, SECRET, endpoint_url=moto.url, timeout=2.0)
    for client in (ec2, cw):
        client.meta.events.register(
            "before-parameter-build",
            lambda params, model, **_: calls.append((model.name, dict(params))))
    return CloudWatchCollector(ec2, cw, owns_clients=True), calls


def launched(moto: MotoServer, instance_id: str) -> int:
    reply = moto.client("ec2").describe_instances(InstanceIds=[instance_id])
    return int(reply["Reservations"][0]["Instances"][0]["LaunchTime"].timestamp())


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def row(ts: int, sid: str, cpu: float, memory: float, disk: float, rx: float = 0.0,
        tx: float = 0.0, connections: int = 0, status: str = "healthy") -> MetricRow:
    return MetricRow(ts, sid, cpu, memory, disk, None, rx, tx, connections, status)  # type: ignore[arg-type]


def offline(sid: str) -> Snapshot:
    return Snapshot(MetricRow(AT, sid, 0.0, 0.0, 0.0, None, 0.0, 0.0, 0, "critical"), None, False)


@pytest.fixture
def collector(moto: MotoServer) -> Iterator[CloudWatchCollector]:
    c = connect(moto)
    yield c
    c.close()


# -- discovery ---------------------------------------------------------------------------------


def test_servers_are_the_tagged_instances_with_templates_from_tags_and_types(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    web = moto.launch("web-01", role="web", instance_type="m5.xlarge", location="seoul-a",
                      environment="production", services="nginx, app")
    moto.launch("db-01", role="DB", instance_type="r5.large", zone="eu-west-1a")
    nameless = moto.launch(None, role="frontend")  # no Name tag, a role we do not know
    twins = [moto.launch("batch", role="worker") for _ in range(2)]  # a shared Name
    moto.launch("outsider", fleet=None)  # no fleet tag
    gone = moto.launch("gone")
    moto.client("ec2").terminate_instances(InstanceIds=[gone])

    servers = collector.servers()
    assert [s.id for s in servers] == sorted(["db-01", "web-01", nameless, *twins])
    by_id = {s.id: s for s in servers}
    dns = moto.client("ec2").describe_instances(InstanceIds=[web])
    assert by_id["web-01"] == ServerTemplate(
        id="web-01", name="web-01",
        hostname=dns["Reservations"][0]["Instances"][0]["PrivateDnsName"], role="web",
        location="seoul-a", environment="production", cpu_cores=4, memory_total_mb=16_384,
        disk_total_mb=8 * 1024, services=("nginx", "app"), platform="aws")
    db = by_id["db-01"]
    assert (db.role, db.location, db.environment, db.cpu_cores, db.memory_total_mb) == (
        "db", "eu-west-1a", "unknown", 2, 16_384)  # r5.large: 2 vCPUs, 16 GiB
    assert (by_id[nameless].name, by_id[nameless].role) == (nameless, "web")
    assert [by_id[t].name for t in twins] == ["batch", "batch"]
    assert {by_id[t].role for t in twins} == {"worker"}


def test_a_tag_value_narrows_discovery(moto: MotoServer) -> None:
    moto.launch("prod-web", fleet="prod")
    moto.launch("stage-web", fleet="staging")
    assert [s.id for s in connect(moto, tag_value="prod").servers()] == ["prod-web"]
    assert [s.id for s in connect(moto).servers()] == ["prod-web", "stage-web"]
    assert connect(moto, tag_key="team").servers() == []


def test_collector_satisfies_the_protocol_and_health_asks_both_apis(moto: MotoServer) -> None:
    c, calls = recorded(moto)
    assert isinstance(c, Collector) and c.mode == "cloudwatch"
    assert c.incidents(AT - 86_400, AT) == []
    c.health()
    assert calls == [
        ("DescribeInstances", {"Filters": [FLEET_FILTER[0]], "MaxResults": 5}),
        ("ListMetrics", {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization"}),
    ]


# -- snapshot ----------------------------------------------------------------------------------


def test_snapshot_equals_what_was_put_in_row_units(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    web = moto.launch("web-01", role="web")
    db = moto.launch("db-01", role="db")
    moto.put(web, AT - 600, cpu=10.0, memory=20.0, disk=30.0, network_in=1.0)  # older
    moto.put(web, AT - 300, **FULL)
    moto.put(db, AT, cpu=12.5, memory=71.0, disk=45.0)  # no network, no connections
    assert collector.snapshot(None, AT) == [
        Snapshot(row(AT, "db-01", 12.5, 71.0, 45.0), AT - launched(moto, db), True),
        # 1,536,000 bytes in 300 s = 5 KB/s; 307,200 bytes = 1 KB/s; 41.4 connections → 41
        Snapshot(row(AT, "web-01", 43.21, 50.5, 61.25, 5.0, 1.0, 41),
                 AT - launched(moto, web), True),
    ]


def test_snapshot_sends_one_get_metric_data_for_the_fleet(moto: MotoServer) -> None:
    web = moto.launch("web-01")
    bare = moto.launch("bare-01")  # no CloudWatch agent: only AWS/EC2 metrics exist
    moto.put(web, AT, **FULL)
    moto.put(bare, AT, cpu=5.0)
    c, calls = recorded(moto)
    assert [s.online for s in c.snapshot(None, AT)] == [False, True]

    def listing(name: str, *extra: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return ("ListMetrics", {"Namespace": "CWAgent", "MetricName": name,
                                "Dimensions": [{"Name": "InstanceId"}, *extra]})

    def query(qid: str, iid: str, ns: str, name: str, stat: str,
              dims: list[dict[str, str]] | None = None) -> dict[str, Any]:
        agent = [{"Name": "InstanceId", "Value": iid}, {"Name": "ImageId", "Value": "ami-12c6146b"},
                 {"Name": "InstanceType", "Value": "m5.large"}]
        return {"Id": qid, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name,
                       "Dimensions": dims or ([{"Name": "InstanceId", "Value": iid}]
                                              if ns == "AWS/EC2" else agent)},
            "Period": 300, "Stat": stat}}

    disk = [{"Name": "InstanceId", "Value": web}, {"Name": "ImageId", "Value": "ami-12c6146b"},
            {"Name": "InstanceType", "Value": "m5.large"}, {"Name": "path", "Value": "/"},
            {"Name": "device", "Value": "nvme0n1p1"}, {"Name": "fstype", "Value": "xfs"}]
    assert calls == [
        ("DescribeInstances", {"Filters": FLEET_FILTER, "MaxResults": 1000}),
        listing("mem_used_percent"),
        listing("disk_used_percent", {"Name": "path", "Value": "/"}),
        listing("netstat_tcp_established"),
        ("GetMetricData", {
            "MetricDataQueries": [
                query("q0", bare, "AWS/EC2", "CPUUtilization", "Average"),
                query("q1", bare, "AWS/EC2", "NetworkIn", "Sum"),
                query("q2", bare, "AWS/EC2", "NetworkOut", "Sum"),
                query("q3", web, "AWS/EC2", "CPUUtilization", "Average"),
                query("q4", web, "AWS/EC2", "NetworkIn", "Sum"),
                query("q5", web, "AWS/EC2", "NetworkOut", "Sum"),
                query("q6", web, "CWAgent", "mem_used_percent", "Average"),
                query("q7", web, "CWAgent", "disk_used_percent", "Average", disk),
                query("q8", web, "CWAgent", "netstat_tcp_established", "Average"),
            ],
            # the last `lookback` (3) periods, the one holding AT included
            "ScanBy": "TimestampAscending", "StartTime": utc(AT - 600), "EndTime": utc(AT + 300),
        }),
    ]


def test_snapshot_reads_the_newest_datapoint_within_the_lookback(moto: MotoServer) -> None:
    fresh, stale = moto.launch("fresh"), moto.launch("stale")
    moto.put(fresh, AT - 900, cpu=99.0, memory=99.0, disk=99.0)  # before the lookback
    moto.put(fresh, AT - 600, cpu=20.0, memory=30.0, disk=40.0)
    moto.put(fresh, AT - 300, cpu=21.0)  # only CPU is newer
    moto.put(stale, AT - 900, cpu=20.0, memory=30.0, disk=40.0)
    snaps = connect(moto).snapshot(None, AT)
    assert snaps[0].row == row(AT, "fresh", 21.0, 30.0, 40.0)
    assert snaps[1] == offline("stale")
    longer = connect(moto, lookback=4).snapshot(["stale"], AT)
    assert longer[0].online and longer[0].row == row(AT, "stale", 20.0, 30.0, 40.0)


def test_missing_metrics_mean_offline_in_snapshots_and_gaps_in_windows(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    bare, partial = moto.launch("bare"), moto.launch("partial")
    for ts in (AT - 300, AT):
        moto.put(bare, ts, cpu=30.0, network_in=3e5)  # no agent: no memory, no disk
    moto.put(partial, AT - 300, cpu=10.0, memory=20.0, disk=30.0)
    moto.put(partial, AT, cpu=11.0, disk=31.0)  # memory missing at AT
    snaps = collector.snapshot(None, AT)
    assert snaps[0] == offline("bare")
    assert snaps[1].online and snaps[1].row == row(AT, "partial", 11.0, 20.0, 31.0)
    assert collector.window(AT - 300, AT + 1, 300) == [row(AT - 300, "partial", 10.0, 20.0,
                                                           30.0)]


def test_a_stopped_instance_is_offline_and_keeps_its_history(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    web = moto.launch("web-01")
    moto.put(web, AT - 300, cpu=10.0, memory=20.0, disk=30.0)
    moto.put(web, AT, cpu=11.0, memory=21.0, disk=31.0)
    moto.client("ec2").stop_instances(InstanceIds=[web])
    assert collector.snapshot(["web-01"], AT) == [offline("web-01")]
    assert collector.is_online("web-01") is False
    assert [r.timestamp for r in collector.window(AT - 300, AT + 1, 300)] == [AT - 300, AT]
    c, calls = recorded(moto)
    c.snapshot(None, AT)
    assert [name for name, _ in calls] == ["DescribeInstances"]  # nothing running: no metrics


def test_status_follows_the_documented_thresholds_for_every_role(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    cases = {  # server: (role, cpu, memory, disk, status); thresholds are inclusive
        "a": ("web", 69.99, 79.99, 79.99, "healthy"),
        "b": ("api", 70.0, 10.0, 10.0, "warning"),
        "c": ("db", 10.0, 80.0, 10.0, "warning"),
        "d": ("cache", 10.0, 10.0, 80.0, "warning"),
        "e": ("worker", 90.0, 10.0, 10.0, "critical"),
        "f": ("web", 10.0, 95.0, 10.0, "critical"),
        "g": ("db", 10.0, 10.0, 90.0, "critical"),
    }
    for sid, (role, cpu, memory, disk, _) in cases.items():
        moto.put(moto.launch(sid, role=role), AT, cpu=cpu, memory=memory, disk=disk)
    snaps = collector.snapshot(None, AT)
    assert {s.row.server_id: s.row.status for s in snaps} == {
        sid: case[4] for sid, case in cases.items()}
    # CloudWatch has no response time: no role's response thresholds can fire
    assert {s.row.response_time for s in snaps} == {None}
    assert [s.role for s in collector.servers()] == [c[0] for c in cases.values()]


# -- window ------------------------------------------------------------------------------------


def test_window_equals_what_was_put_on_the_step_grid(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    web, db = moto.launch("web-01"), moto.launch("db-01", role="db")
    start = AT - 1800
    for k in range(6):
        moto.put(web, start + 300 * k, cpu=10.0 + k, memory=50.0 + k / 2, disk=60.0,
                 network_in=307_200.0 * (k + 1), network_out=0.0, connections=float(k))
        if k % 2 == 0:
            moto.put(db, start + 300 * k, cpu=5.0, memory=6.0, disk=7.0)
    rows = collector.window(start, AT, 300)
    expected = [row(start + 300 * k, "web-01", 10.0 + k, 50.0 + k / 2, 60.0, k + 1.0, 0.0, k)
                for k in range(6)]
    expected += [row(start + 300 * k, "db-01", 5.0, 6.0, 7.0) for k in (0, 2, 4)]
    assert rows == sorted(expected, key=lambda r: (r.timestamp, r.server_id))
    # 600-s periods: averages of two datapoints, network bytes summed over 600 s
    assert collector.window(start, AT, 600, ["web-01"]) == [
        row(start + 600 * j, "web-01", 10.5 + 2 * j, 50.25 + j, 60.0, 1.5 + 2 * j, 0.0,
            round(0.5 + 2 * j)) for j in range(3)]
    # an unaligned start begins at the next grid instant
    assert [r.timestamp for r in collector.window(start + 1, start + 901, 300, ["web-01"])] == [
        start + 300, start + 600, start + 900]


def test_unknown_servers_and_bad_windows_are_refused(
    moto: MotoServer, collector: CloudWatchCollector
) -> None:
    moto.launch("web-01")
    with pytest.raises(UnknownServer) as snap:
        collector.snapshot(["web-01", "web-99"], AT)
    assert (snap.value.parameter, snap.value.server_id) == ("server_id", "web-99")
    with pytest.raises(UnknownServer) as online:
        collector.is_online("web-99")
    assert online.value.parameter == "server_id"
    with pytest.raises(UnknownServer):
        collector.window(AT - 600, AT, 300, ["web-99"])
    with pytest.raises(InvalidParameter) as step:
        collector.window(AT - 600, AT, 45)
    assert step.value.parameter == "step"
    with pytest.raises(InvalidParameter) as end:
        collector.window(AT, AT - 600, 300)
    assert end.value.parameter == "end"
    assert collector.window(AT, AT, 300) == [] and collector.snapshot([], AT) == []
    assert collector.is_online("web-01") is True


# -- the SDK boundary: paging and the 500-query limit ------------------------------------------


def test_get_metric_data_is_split_at_500_queries_and_its_pages_merged() -> None:
    ec2, cw = make_clients(REGION, KEY_ID, SECRET, endpoint_url="http://127.0.0.1:9")
    ids = [f"i-{n:017x}" for n in range(170)]
    instances = [{"InstanceId": i, "State": {"Name": "running"}, "InstanceType": "t3.micro",
                  "Tags": [{"Key": "fleet", "Value": "big"}]} for i in ids]
    mem = [{"Name": "InstanceId", "Value": ids[0]}]
    disk = [*mem, {"Name": "path", "Value": "/"}]
    queries: list[dict[str, Any]] = []
    for i in ids:
        ec2_dims = [{"Name": "InstanceId", "Value": i}]
        metrics = [("AWS/EC2", "CPUUtilization", "Average", ec2_dims),
                   ("AWS/EC2", "NetworkIn", "Sum", ec2_dims),
                   ("AWS/EC2", "NetworkOut", "Sum", ec2_dims)]
        if i == ids[0]:  # the only instance with an agent
            metrics += [("CWAgent", "mem_used_percent", "Average", mem),
                        ("CWAgent", "disk_used_percent", "Average", disk)]
        queries += [{"Id": f"q{len(queries) + n}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims},
            "Period": 300, "Stat": stat}} for n, (ns, name, stat, dims) in enumerate(metrics)]
    assert len(queries) == 512
    window = {"ScanBy": "TimestampAscending", "StartTime": utc(AT - 600),
              "EndTime": utc(AT + 300)}

    def result(qid: str, ts: int, value: float, status: str = "Complete") -> dict[str, Any]:
        return {"Id": qid, "Timestamps": [utc(ts)], "Values": [value], "StatusCode": status}

    with Stubber(ec2) as ec2_stub, Stubber(cw) as cw_stub:
        ec2_stub.add_response("describe_instances",
                              {"Reservations": [{"Instances": instances[:100]}], "NextToken": "p2"},
                              {"Filters": FLEET_FILTER, "MaxResults": 1000})
        ec2_stub.add_response("describe_instances",
                              {"Reservations": [{"Instances": instances[100:]}]},
                              {"Filters": FLEET_FILTER, "MaxResults": 1000, "NextToken": "p2"})
        for name, metrics in (("mem_used_percent", [mem]), ("disk_used_percent", [disk]),
                              ("netstat_tcp_established", [])):
            wanted = [{"Name": "InstanceId"}, *([{"Name": "path", "Value": "/"}]
                                               if name.startswith("disk") else [])]
            cw_stub.add_response(
                "list_metrics",
                {"Metrics": [{"Namespace": "CWAgent", "MetricName": name, "Dimensions": d}
                             for d in metrics]},
                {"Namespace": "CWAgent", "MetricName": name, "Dimensions": wanted})
        cw_stub.add_response("get_metric_data", {
            "MetricDataResults": [result("q0", AT - 300, 10.0, "PartialData"),
                                  result("q3", AT - 300, 50.0)], "NextToken": "more"},
            {"MetricDataQueries": queries[:500], **window})
        cw_stub.add_response("get_metric_data", {
            "MetricDataResults": [result("q0", AT, 20.0), result("q4", AT, 60.0)]},
            {"MetricDataQueries": queries[:500], **window, "NextToken": "more"})
        cw_stub.add_response("get_metric_data", {"MetricDataResults": []},
                             {"MetricDataQueries": queries[500:], **window})
        snaps = CloudWatchCollector(ec2, cw).snapshot(None, AT)
        ec2_stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()
    first = next(s for s in snaps if s.row.server_id == ids[0])
    assert first.row == row(AT, ids[0], 20.0, 50.0, 60.0)  # CPU from the second page
    assert sum(s.online for s in snaps) == 1 and len(snaps) == 170


def test_a_failed_query_is_source_unavailable() -> None:
    ec2, cw = make_clients(REGION, KEY_ID, SECRET, endpoint_url="http://127.0.0.1:9")
    instance = {"InstanceId": "i-1", "State": {"Name": "running"}, "Tags": [
        {"Key": "fleet", "Value": "x"}, {"Key": "Name", "Value": "web-01"}]}
    with Stubber(ec2) as ec2_stub, Stubber(cw) as cw_stub:
        ec2_stub.add_response("describe_instances", {"Reservations": [{"Instances": [instance]}]})
        for _ in range(3):
            cw_stub.add_response("list_metrics", {"Metrics": []})
        cw_stub.add_response("get_metric_data", {"MetricDataResults": [
            {"Id": "q0", "Label": "CPUUtilization", "StatusCode": "Forbidden"}]})
        with pytest.raises(SourceUnavailable) as error:
            CloudWatchCollector(ec2, cw).window(AT - 600, AT, 300)
    assert str(error.value) == ("AWS cloudwatch GetMetricData at http://127.0.0.1:9: query "
                                "CPUUtilization: Forbidden")


# -- failures ----------------------------------------------------------------------------------


def every_call(c: CloudWatchCollector) -> list[Callable[[], object]]:
    return [c.servers, c.health, lambda: c.snapshot(None, AT), lambda: c.window(AT - 600, AT, 300),
            lambda: c.is_online("web-01")]


def test_a_closed_port_is_source_unavailable_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    c = CloudWatchCollector(*make_clients(REGION, KEY_ID, SECRET, endpoint_url=url, timeout=2.0),
                            owns_clients=True)
    for call in every_call(c):
        began = time.perf_counter()
        with pytest.raises(SourceUnavailable) as error:
            call()
        assert time.perf_counter() - began < 1.0  # one attempt, no backoff
        assert str(error.value).startswith(
            f'AWS ec2 DescribeInstances at {url}: unreachable: Could not connect to the '
            f'endpoint URL: "{url}/"')
        assert isinstance(error.value.__cause__, EndpointConnectionError)
    c.close()


def test_a_silent_endpoint_times_out_after_one_attempt() -> None:
    accepted: list[socket.socket] = []
    stop = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(0.05)

        def accept() -> None:  # read nothing, answer nothing
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        c = CloudWatchCollector(*make_clients(REGION, KEY_ID, SECRET, endpoint_url=url,
                                              timeout=0.5), owns_clients=True)
        began = time.perf_counter()
        with pytest.raises(SourceUnavailable) as error:
            c.servers()
        elapsed = time.perf_counter() - began
        stop.set()
        thread.join()
    for conn in accepted:
        conn.close()
    assert 0.4 < elapsed < 2.5
    assert str(error.value) == (f"AWS ec2 DescribeInstances at {url}: timed out after 0.5 s "
                                "(ReadTimeoutError)")
    assert isinstance(error.value.__cause__, ReadTimeoutError)
    assert len(accepted) == 1  # no retry
    c.close()


READ_ACTIONS = (
    "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeVolumes",
    "cloudwatch:GetMetricData", "cloudwatch:ListMetrics",
    # moto checks CloudWatch's actions under the API's endpoint prefix
    "monitoring:GetMetricData", "monitoring:ListMetrics",
)


def test_signed_requests_pass_and_bad_credentials_fail_authentication(moto: MotoServer) -> None:
    web = moto.launch("web-01")
    moto.put(web, AT, **FULL)
    with moto.enforce_auth(READ_ACTIONS) as (key_id, secret):
        good = connect(moto, key_id, secret)
        assert good.snapshot(None, AT)[0].row == row(AT, "web-01", 43.21, 50.5, 61.25, 5.0, 1.0,
                                                     41)
        assert [s.id for s in good.servers()] == ["web-01"]
        good.health()
        for bad_id, bad_secret in ((key_id, "wrong-secret"), ("AKIDUNKNOWN000000000", secret)):
            bad = connect(moto, bad_id, bad_secret)
            for call in every_call(bad):
                with pytest.raises(SourceUnavailable) as error:
                    call()
                assert str(error.value) == f"AWS ec2 DescribeInstances at {moto.url}: {AUTH_FAILED}"
                assert bad_secret not in str(error.value) and secret not in str(error.value)


def test_missing_permissions_are_access_denied(moto: MotoServer) -> None:
    moto.put(moto.launch("web-01"), AT, **FULL)
    with moto.enforce_auth(["ec2:Describe*"]) as (key_id, secret):
        c = connect(moto, key_id, secret)
        assert [s.id for s in c.servers()] == ["web-01"]
        with pytest.raises(SourceUnavailable) as error:
            c.snapshot(None, AT)
    assert str(error.value).startswith(
        f"AWS cloudwatch ListMetrics at {moto.url}: access denied (AccessDenied): User: ")
    assert str(error.value).endswith("(permissions needed: docs/cloudwatch-collector.md)")


def test_requests_are_signed_for_the_region_with_the_session_token(moto: MotoServer) -> None:
    ec2, cw = make_clients(REGION, KEY_ID, SECRET, session_token="session-tok",
                           endpoint_url=moto.url, timeout=3.0)
    headers: list[dict[str, str]] = []
    for client in (ec2, cw):
        assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (3.0,
                                                                                        3.0)
        assert client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
        client.meta.events.register(
            "before-send", lambda request, **_: headers.append(
                {k.lower(): v.decode() if isinstance(v, bytes) else v
                 for k, v in request.headers.items()}))
    CloudWatchCollector(ec2, cw).health()
    day = datetime.now(UTC).strftime("%Y%m%d")
    assert [h["authorization"].split(",")[0] for h in headers] == [
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{day}/{REGION}/ec2/aws4_request",
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{day}/{REGION}/monitoring/aws4_request",
    ]
    assert [h["x-amz-security-token"] for h in headers] == ["session-tok", "session-tok"]
    assert all(SECRET not in str(h) for h in headers)


# -- configuration -----------------------------------------------------------------------------

BASE: dict[str, Any] = {"collector_mode": "cloudwatch", "aws_region": REGION,
                        "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}


@pytest.mark.parametrize(("change", "variable", "message"), [
    ({"aws_region": None}, "AWS_REGION", "required when COLLECTOR_MODE=cloudwatch"),
    ({"aws_region": "Europe"}, "AWS_REGION", "is not a region name such as eu-west-1: 'Europe'"),
    ({"aws_region": None, "aws_default_region": "eu west 1"}, "AWS_DEFAULT_REGION",
     "is not a region name"),
    ({"aws_access_key_id": " "}, "AWS_ACCESS_KEY_ID", "required when COLLECTOR_MODE"),
    ({"aws_secret_access_key": None}, "AWS_SECRET_ACCESS_KEY", "required when COLLECTOR_MODE"),
    ({"aws_secret_access_key": "  "}, "AWS_SECRET_ACCESS_KEY", "required"),
    ({"aws_endpoint_url": "localhost:5000"}, "AWS_ENDPOINT_URL", "http:// or https:// URL"),
    ({"cloudwatch_period_seconds": 90}, "CLOUDWATCH_PERIOD_SECONDS", "multiple of 60"),
])
def test_from_settings_names_the_variable(change: dict[str, Any], variable: str,
                                          message: str) -> None:
    settings = Settings(**{**BASE, **change})
    for build in (CloudWatchCollector.from_settings, get_collector):
        with pytest.raises(ConfigError) as error:
            build(settings)
        assert error.value.variable == variable
        assert str(error.value).startswith(f"{variable}: ") and message in str(error.value)
        assert SECRET not in str(error.value)


def test_a_blank_tag_key_is_unset_and_the_default_applies() -> None:
    assert Settings(**BASE, cloudwatch_tag_key=" ").cloudwatch_tag_key == "fleet"


def test_settings_never_show_the_secrets() -> None:
    settings = Settings(**BASE, aws_session_token="tok-3f9a")
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert SECRET not in text and "tok-3f9a" not in text


def test_factory_builds_a_working_collector_from_the_environment_names(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto.launch("web-01", fleet="prod")
    moto.launch("web-02", fleet="staging")
    for name, value in {"COLLECTOR_MODE": "cloudwatch", "AWS_DEFAULT_REGION": REGION,
                        "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                        "AWS_ENDPOINT_URL": moto.url + "/", "CLOUDWATCH_TAG_VALUE": "prod",
                        "CLOUDWATCH_PERIOD_SECONDS": "60",
                        "CLOUDWATCH_TIMEOUT_SECONDS": "1.5"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    collector = get_collector(Settings())
    assert isinstance(collector, CloudWatchCollector)
    assert (collector.tag_key, collector.tag_value, collector.period) == ("fleet", "prod", 60)
    assert [s.id for s in collector.servers()] == ["web-01"]
    collector.close()


def test_only_cloudwatch_mode_imports_the_aws_sdk() -> None:
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    other_modes = (
        "import sys, lib.app, lib.web.deps, lib.collectors.factory as f, "
        "lib.collectors.prometheus, lib.collectors.custom; from lib.core import Settings; "
        "f.get_collector(Settings()).close(); print('botocore' in sys.modules)"
    )
    cloudwatch = (
        "import sys, lib.collectors.factory as f; from lib.core import Settings; "
        "f.get_collector(Settings(collector_mode='cloudwatch', aws_region='eu-west-1', "
        "aws_access_key_id='a', aws_secret_access_key='b')).close(); "
        "print('botocore' in sys.modules)"
    )
    for code, imported in ((other_modes, "False"), (cloudwatch, "True")):
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == imported

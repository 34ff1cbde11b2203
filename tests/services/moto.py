"""A throwaway moto server: AWS's EC2, CloudWatch and IAM APIs emulated on a loopback port.

``running_moto()`` starts ``python -m moto.server`` (PyPI ``moto[server]``) on a free loopback
port in a temporary working directory, waits until it answers, and stops it on exit. It
speaks the AWS wire protocols (EC2 query, CloudWatch's CBOR and query), so the CloudWatch
collector's own SDK calls reach it unchanged through ``AWS_ENDPOINT_URL``.

``MotoServer`` helpers:

    client(service, key_id, secret)   a botocore client to it (region REGION)
    reset()                            forget every instance, metric and IAM user
    enforce_auth(actions)              context manager: an IAM user allowed ``actions``, then
                                       signatures and permissions checked (moto's
                                       INITIAL_NO_AUTH_ACTION_COUNT, set through
                                       /moto-api/reset-auth) until the block ends
    launch(...)                        RunInstances with tags; the instance id
    put(...)                           PutMetricData of one instant, named as the EC2 service
                                       and the CloudWatch agent publish them
    put_rows(ids, rows, period)        the same for MetricRows (e.g. the simulator's)

Fixtures:
    moto_server   session   the running server (skips, or fails when CI=true, if moto[server]
                            is not installed)
    moto          function  the same, reset, with signatures not checked
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lib.core import MetricRow
from tests.services.processes import free_port, stop_process

__all__ = [
    "AMI",
    "KEY_ID",
    "REGION",
    "SECRET",
    "MotoServer",
    "moto",
    "moto_server",
    "require_moto",
    "running_moto",
]

REGION = "eu-west-1"
KEY_ID = "AKIDFLEETTEST0000001"
SECRET = "fleet-test-secret-do-not-echo"  # moto accepts any key while auth is off
AMI = "ami-12c6146b"  # one of the images moto knows
# What the CloudWatch agent appends to every metric with append_dimensions (a common config).
AGENT_DIMENSIONS = ("ImageId", "InstanceType")
_START_ATTEMPTS = 3
_READY_DEADLINE_SECONDS = 30.0


def require_moto() -> None:
    """Skip (or fail when CI=true) unless moto's server mode is installed."""
    if importlib.util.find_spec("moto") and importlib.util.find_spec("flask"):
        return
    message = "moto[server] is not installed (pip install -r requirements-dev.txt)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class MotoServer:
    """A running moto server at ``url``."""

    url: str

    def client(self, service: str, key_id: str = KEY_ID, secret: str = SECRET) -> Any:
        return _client(self.url, service, key_id, secret)

    def reset(self) -> None:
        self._auth_after(float("inf"))
        httpx.post(f"{self.url}/moto-api/reset", timeout=10.0).raise_for_status()

    @contextmanager
    def enforce_auth(self, actions: Sequence[str]) -> Iterator[tuple[str, str]]:
        """Yield (key id, secret) of a new IAM user allowed ``actions``; while the block runs,
        every request must be signed with a known key and be permitted."""
        iam = self.client("iam")
        user = f"reader-{time.monotonic_ns()}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
        iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(policy))
        self._auth_after(0)
        try:
            yield key["AccessKeyId"], key["SecretAccessKey"]
        finally:
            self._auth_after(float("inf"))

    def _auth_after(self, requests: float) -> None:
        httpx.post(f"{self.url}/moto-api/reset-auth", content=str(requests).encode(),
                   timeout=10.0).raise_for_status()

    def launch(
        self, name: str | None = None, *, role: str | None = None, fleet: str | None = "demo",
        instance_type: str = "m5.large", zone: str = "eu-west-1b", **tags: str,
    ) -> str:
        """One running instance with these tags (``fleet`` unless None); its id."""
        pairs = {"fleet": fleet, "Name": name, "role": role, **tags}
        spec = [{"Key": k, "Value": v} for k, v in pairs.items() if v is not None]
        reply = self.client("ec2").run_instances(
            ImageId=AMI, MinCount=1, MaxCount=1, InstanceType=instance_type,
            Placement={"AvailabilityZone": zone},
            **({"TagSpecifications": [{"ResourceType": "instance", "Tags": spec}]}
               if spec else {}),
        )
        return str(reply["Instances"][0]["InstanceId"])

    def put(
        self, instance_id: str, at: int, *, cpu: float | None = None,
        memory: float | None = None, disk: float | None = None,
        network_in: float | None = None, network_out: float | None = None,
        connections: float | None = None, instance_type: str = "m5.large",
    ) -> None:
        """Datapoints at ``at``: CPU and network bytes as AWS/EC2 publishes them, memory, disk
        (``/``, plus a decoy ``/data`` at 99 %) and TCP connections as the agent does."""
        values = {"cpu": cpu, "memory": memory, "disk": disk, "network_in": network_in,
                  "network_out": network_out, "connections": connections}
        self._send(_datums(instance_id, at, values, instance_type))

    def put_rows(self, instance_ids: Mapping[str, str], rows: Iterable[MetricRow],
                 period: int) -> None:
        """Rows (server id → instance id) as published datapoints of ``period`` seconds:
        network KB/s × 1024 × period bytes."""
        datums = [d for r in rows for d in _datums(instance_ids[r.server_id], r.timestamp, {
            "cpu": r.cpu, "memory": r.memory, "disk": r.disk,
            "network_in": r.network_rx * 1024 * period,
            "network_out": r.network_tx * 1024 * period, "connections": float(r.connections),
        })]
        self._send(datums)

    def _send(self, datums: list[tuple[str, dict[str, Any]]]) -> None:
        cw = self.client("cloudwatch")
        for namespace in ("AWS/EC2", "CWAgent"):
            mine = [d for ns, d in datums if ns == namespace]
            for lo in range(0, len(mine), 1000):  # PutMetricData's limit
                cw.put_metric_data(Namespace=namespace, MetricData=mine[lo:lo + 1000])


def _datums(instance_id: str, at: int, values: Mapping[str, float | None],
            instance_type: str = "m5.large") -> list[tuple[str, dict[str, Any]]]:
    """(namespace, MetricDatum) of the values that are not None."""
    ec2 = [{"Name": "InstanceId", "Value": instance_id}]
    agent = [*ec2, {"Name": "ImageId", "Value": AMI},
             {"Name": "InstanceType", "Value": instance_type}]
    disk = values["disk"]
    data = [
        ("AWS/EC2", "CPUUtilization", ec2, values["cpu"], "Percent"),
        ("AWS/EC2", "NetworkIn", ec2, values["network_in"], "Bytes"),
        ("AWS/EC2", "NetworkOut", ec2, values["network_out"], "Bytes"),
        ("CWAgent", "mem_used_percent", agent, values["memory"], "Percent"),
        ("CWAgent", "disk_used_percent", [*agent, *_disk("/", "nvme0n1p1")], disk, "Percent"),
        ("CWAgent", "disk_used_percent", [*agent, *_disk("/data", "nvme1n1")],
         None if disk is None else 99.0, "Percent"),
        ("CWAgent", "netstat_tcp_established", agent, values["connections"], "Count"),
    ]
    when = datetime.fromtimestamp(at, UTC)
    return [(ns, {"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": value,
                  "Unit": unit}) for ns, name, dims, value, unit in data if value is not None]


@functools.cache
def _client(url: str, service: str, key_id: str, secret: str) -> Any:
    """One client per (server, service, key): creating one loads the service's model."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.Session().create_client(
        service, region_name=REGION, endpoint_url=url, aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1}),
    )


def _disk(path: str, device: str) -> list[dict[str, str]]:
    return [{"Name": "path", "Value": path}, {"Name": "device", "Value": device},
            {"Name": "fstype", "Value": "xfs"}]


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


@contextmanager
def running_moto() -> Iterator[MotoServer]:
    """Start a moto server on a free loopback port (retrying when the port was taken)."""
    root = Path(tempfile.mkdtemp(prefix="fleet-moto-"))
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "inf", "MOTO_PORT": "0"}
    try:
        for _ in range(_START_ATTEMPTS):
            port = free_port()
            env["MOTO_PORT"] = str(port)
            with (root / "moto.log").open("ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + _READY_DEADLINE_SECONDS
            while process.poll() is None and time.monotonic() < deadline and not _answers(url):
                time.sleep(0.1)
            if process.poll() is None and _answers(url):
                try:
                    yield MotoServer(url)
                finally:
                    stop_process(process)
                return
            stop_process(process)
        log_text = (root / "moto.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"moto did not become ready:\n{log_text}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server for the whole session."""
    require_moto()
    with running_moto() as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The session's moto server with no state and authentication off."""
    moto_server.reset()
    return moto_server

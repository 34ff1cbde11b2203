"""A throwaway real Prometheus (and node_exporter) for tests and benchmarks.

``running_node_exporter()`` starts ``prometheus-node-exporter`` on a free loopback port with only
the collectors the prometheus collector reads (cpu, meminfo, filesystem, netdev, netstat, stat,
uname). ``running_prometheus(targets, ...)`` starts ``prometheus`` on a free loopback port with a
temporary config (scrape and evaluation interval 1 s) and data directory, scraping the given
``host:port`` targets, and waits until it is ready. Both stop and clean up on exit.
``running_local_api(settings)`` serves every function with ``python -m lib serve`` (for
Prometheus to scrape ``/api/prometheus``). ``wait_for_samples`` polls until a PromQL
expression has enough samples.

Fixtures:
    node_exporter       session  the running NodeExporter (skips, or fails when CI=true, if the
                                 binaries are missing)
    prometheus_server   session  a Prometheus scraping ``node_exporter`` every second, returned
                                 once the target is up and has ten samples
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services.processes import free_port, stop_process

__all__ = [
    "NODE_EXPORTER",
    "PROMETHEUS",
    "NodeExporter",
    "PrometheusServer",
    "binaries_available",
    "free_port",
    "node_exporter",
    "prometheus_server",
    "require_binaries",
    "running_local_api",
    "running_node_exporter",
    "running_prometheus",
    "wait_for_samples",
]

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = "prometheus"
NODE_EXPORTER = "prometheus-node-exporter"
_START_ATTEMPTS = 3
_READY_DEADLINE_SECONDS = 30.0
_NODE_COLLECTORS = ("cpu", "meminfo", "filesystem", "netdev", "netstat", "stat", "uname")


@dataclass(frozen=True)
class NodeExporter:
    """A running node_exporter; ``address`` is its ``host:port`` (Prometheus's instance label)."""

    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus and the job its targets are scraped as."""

    url: str
    job: str
    targets: tuple[str, ...]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, object]]:
        """An instant query's result list (raises on an error reply)."""
        params = {"query": expr} | ({"time": str(at)} if at is not None else {})
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=5.0)
        response.raise_for_status()
        result: list[dict[str, object]] = response.json()["data"]["result"]
        return result

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[dict[str, object]]:
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
        response = httpx.get(f"{self.url}/api/v1/query_range", params=params, timeout=10.0)
        response.raise_for_status()
        result: list[dict[str, object]] = response.json()["data"]["result"]
        return result


def binaries_available() -> bool:
    return shutil.which(PROMETHEUS) is not None and shutil.which(NODE_EXPORTER) is not None


def require_binaries() -> None:
    """Skip (or fail when CI=true) unless prometheus and node_exporter are installed."""
    if binaries_available():
        return
    message = (f"{PROMETHEUS} and {NODE_EXPORTER} are not installed "
               "(Debian packages prometheus, prometheus-node-exporter)")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _wait_until(process: subprocess.Popen[bytes], url: str, deadline: float) -> bool:
    """Poll ``url`` until it answers 200; False when the process died or time ran out."""
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def _start(
    args_for: Callable[[str], list[str]], ready_path: str, log: Path, *,
    env: dict[str, str] | None = None, cwd: Path | None = None,
    deadline: float = _READY_DEADLINE_SECONDS,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server on a free port (retrying when the port was taken meanwhile)."""
    for _ in range(_START_ATTEMPTS):
        address = f"127.0.0.1:{free_port()}"
        with log.open("ab") as out:
            process = subprocess.Popen(args_for(address), stdout=out, stderr=subprocess.STDOUT,
                                       env=env, cwd=cwd)
        if _wait_until(process, f"http://{address}{ready_path}", time.monotonic() + deadline):
            return process, address
        stop_process(process)
    raise RuntimeError(f"server did not become ready:\n{log.read_text(errors='replace')[-4000:]}")


@contextmanager
def running_node_exporter() -> Iterator[NodeExporter]:
    """Start a node_exporter with a few collectors; stop it on exit."""
    root = Path(tempfile.mkdtemp(prefix="fleet-node-exporter-"))
    collectors = [f"--collector.{c}" for c in _NODE_COLLECTORS]

    def args(address: str) -> list[str]:
        return [NODE_EXPORTER, f"--web.listen-address={address}",
                "--collector.disable-defaults", *collectors]

    try:
        process, address = _start(args, "/metrics", root / "node_exporter.log")
        try:
            yield NodeExporter(address)
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_prometheus(
    targets: Sequence[str],
    *,
    job: str = "node",
    metrics_path: str = "/metrics",
    honor_labels: bool = False,
    scrape_interval: str = "1s",
    storage: Path | None = None,
) -> Iterator[PrometheusServer]:
    """Start a Prometheus scraping ``targets`` (``host:port``) with a temp config and data dir
    (``storage``: an existing TSDB directory instead, e.g. with backfilled blocks; kept)."""
    root = Path(tempfile.mkdtemp(prefix="fleet-prometheus-"))
    data = storage if storage is not None else root / "data"
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "scrape_timeout": scrape_interval},
        "scrape_configs": [{
            "job_name": job,
            "metrics_path": metrics_path,
            "honor_labels": honor_labels,
            "static_configs": [{"targets": list(targets)}],
        }],
    }
    # JSON is YAML: no YAML writer needed.
    (root / "prometheus.yml").write_text(json.dumps(config, indent=2))

    def args(address: str) -> list[str]:
        return [PROMETHEUS, f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}", f"--web.listen-address={address}",
                "--log.level=warn"]

    try:
        process, address = _start(args, "/-/ready", root / "prometheus.log")
        try:
            yield PrometheusServer(f"http://{address}", job, tuple(targets))
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_local_api(settings: dict[str, str]) -> Iterator[str]:
    """``python -m lib serve`` on a free port with these settings (the project's other settings
    removed from the environment, the embedded store in a temp dir); yields ``host:port``."""
    from lib.core import Settings

    root = Path(tempfile.mkdtemp(prefix="fleet-serve-"))
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(SQLITE_PATH=str(root / "fleet.sqlite3"), PYTHONPATH=str(REPO), **settings)

    def args(address: str) -> list[str]:
        host, port = address.split(":")
        return [sys.executable, "-m", "lib", "serve", "--host", host, "--port", port]

    try:
        process, address = _start(args, "/api/prometheus", root / "serve.log", env=env, cwd=REPO,
                                  deadline=60.0)
        try:
            yield address
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def wait_for_samples(
    server: PrometheusServer, expr: str, count: int, timeout: float = 30.0
) -> None:
    """Wait until every series of ``count_over_time(expr[1m])`` has at least ``count`` samples."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        seen = server.query(f"count_over_time({expr}[1m])")
        if seen and all(float(str(s["value"][1])) >= count for s in seen):  # type: ignore[index]
            return
        time.sleep(0.25)
    raise RuntimeError(f"{expr} did not reach {count} samples in {timeout}s: {seen}")


@pytest.fixture(scope="session")
def node_exporter() -> Iterator[NodeExporter]:
    """A real node_exporter for the whole session."""
    require_binaries()
    with running_node_exporter() as exporter:
        yield exporter


@pytest.fixture(scope="session")
def prometheus_server(node_exporter: NodeExporter) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the session's node_exporter every second, with samples."""
    with running_prometheus([node_exporter.address]) as server:
        wait_for_samples(server, f'up{{instance="{node_exporter.address}"}}', 10)
        yield server

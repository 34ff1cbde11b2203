"""A throwaway real Alertmanager for tests, routing every alert to a webhook receiver.

``running_alertmanager(webhook_url)`` starts ``prometheus-alertmanager`` (Debian's package) on a
free loopback port with a temporary config and ``--storage.path``, no clustering
(``--cluster.listen-address=``), and short grouping timers, so that its own webhook v4 reaches
``webhook_url`` within a second of an alert; it stops and cleans up on exit.

Fixtures:
    alertmanager_server   session   an AlertmanagerServer sending to the session's receiver at
                                    ``/alertmanager`` (skips, or fails when CI=true, if the
                                    binary is missing)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services.processes import free_port, stop_process
from tests.services.receiver import Receiver

__all__ = [
    "ALERTMANAGER",
    "WEBHOOK_PATH",
    "AlertmanagerServer",
    "alertmanager_server",
    "require_alertmanager",
    "running_alertmanager",
]

ALERTMANAGER = "prometheus-alertmanager"
WEBHOOK_PATH = "/alertmanager"
RECEIVER_NAME = "test-receiver"
GROUP_WAIT = "200ms"       # first notification of a group
GROUP_INTERVAL = "500ms"   # later changes to it (a resolution)
_START_ATTEMPTS = 3
_READY_DEADLINE_SECONDS = 20.0


@dataclass(frozen=True)
class AlertmanagerServer:
    """A running Alertmanager: its base URL and version."""

    url: str
    version: str

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (active, unsilenced, uninhibited alerts by default)."""
        response = httpx.get(f"{self.url}/api/v2/alerts", params=filters, timeout=5.0)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result


def require_alertmanager() -> None:
    """Skip (or fail when CI=true) unless prometheus-alertmanager is installed."""
    if shutil.which(ALERTMANAGER) is not None:
        return
    message = f"{ALERTMANAGER} is not installed (Debian package prometheus-alertmanager)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _config(webhook_url: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": RECEIVER_NAME,
            "group_by": ["alert_group"],
            "group_wait": GROUP_WAIT,
            "group_interval": GROUP_INTERVAL,
            "repeat_interval": "1h",
        },
        "receivers": [{
            "name": RECEIVER_NAME,
            "webhook_configs": [{"url": webhook_url, "send_resolved": True}],
        }],
    }


def _ready(process: subprocess.Popen[bytes], url: str, deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@contextmanager
def running_alertmanager(webhook_url: str) -> Iterator[AlertmanagerServer]:
    """Start an Alertmanager that sends every group to ``webhook_url``; stop it on exit."""
    root = Path(tempfile.mkdtemp(prefix="fleet-alertmanager-"))
    config = root / "alertmanager.yml"
    config.write_text(json.dumps(_config(webhook_url), indent=2))  # JSON is YAML
    log = root / "alertmanager.log"
    try:
        for _ in range(_START_ATTEMPTS):
            address = f"127.0.0.1:{free_port()}"
            args = [ALERTMANAGER, f"--config.file={config}", f"--storage.path={root / 'data'}",
                    f"--web.listen-address={address}", f"--web.external-url=http://{address}",
                    "--cluster.listen-address=", "--log.level=warn"]
            with log.open("ab") as out:
                process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
            url = f"http://{address}"
            if _ready(process, url, time.monotonic() + _READY_DEADLINE_SECONDS):
                break
            stop_process(process)
        else:
            raise RuntimeError(f"alertmanager did not become ready:\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
        try:
            status = httpx.get(f"{url}/api/v2/status", timeout=5.0).json()
            yield AlertmanagerServer(url, status["versionInfo"]["version"])
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def alertmanager_server(receiver_server: Receiver) -> Iterator[AlertmanagerServer]:
    """A real Alertmanager for the session, sending its webhooks to the session's receiver."""
    require_alertmanager()
    with running_alertmanager(receiver_server.url + WEBHOOK_PATH) as server:
        yield server

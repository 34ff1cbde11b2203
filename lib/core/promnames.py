"""Prometheus metric and label names the project speaks: node_exporter's, plus ours.

One neutral module that both the simulated fleet's exposition (lib.sim.exposition) and the
Prometheus collector (lib.collectors.prometheus) import, so the names they agree on are
written once and a real-source adapter never imports the simulator.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BOOT_TIME",
    "CONTENT_TYPE",
    "CONNECTIONS",
    "CPU_SECONDS",
    "FILESYSTEM_AVAIL",
    "FILESYSTEM_SIZE",
    "MEMORY_AVAILABLE",
    "MEMORY_TOTAL",
    "NETWORK_RECEIVE",
    "NETWORK_TRANSMIT",
    "RESPONSE_TIME",
    "ROOT_MOUNTPOINT",
    "SERVER_LABELS",
    "START_TIME",
    "UNAME_INFO",
]

# The classic text format (0.0.4): what every Prometheus version and most scrapers accept.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

# node_exporter's names. Counters are named without the ``_total`` suffix that the text
# format (and PromQL) adds.
CPU_SECONDS: Final = "node_cpu_seconds"
MEMORY_TOTAL: Final = "node_memory_MemTotal_bytes"
MEMORY_AVAILABLE: Final = "node_memory_MemAvailable_bytes"
FILESYSTEM_SIZE: Final = "node_filesystem_size_bytes"
FILESYSTEM_AVAIL: Final = "node_filesystem_avail_bytes"
NETWORK_RECEIVE: Final = "node_network_receive_bytes"
NETWORK_TRANSMIT: Final = "node_network_transmit_bytes"
CONNECTIONS: Final = "node_netstat_Tcp_CurrEstab"
BOOT_TIME: Final = "node_boot_time_seconds"
UNAME_INFO: Final = "node_uname_info"
ROOT_MOUNTPOINT: Final = "/"

# Application metrics outside node_exporter's set.
RESPONSE_TIME: Final = "app_response_time_seconds"
START_TIME: Final = "app_start_time_seconds"

# The labels of every series of the simulated fleet (``instance`` is the server id).
SERVER_LABELS: Final = ("instance", "name", "role", "location", "environment", "platform")

"""Helpers the use cases share for the live source: which server ids it knows."""

from __future__ import annotations

from collections.abc import Sequence

from lib.collectors import Collector
from lib.core import pick_servers

__all__ = ["check_servers"]


def check_servers(ids: Sequence[str], collector: Collector) -> None:
    """UnknownServer for the first of ``ids`` the source does not know."""
    pick_servers(ids, {template.id: template for template in collector.servers()})

"""The command line, ``python -m lib <command>``: the same settings and factories as the API."""

from __future__ import annotations

from .main import main

__all__ = ["main"]

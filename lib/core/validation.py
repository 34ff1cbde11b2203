"""Checks several layers share: an http(s) URL, choosing servers by id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from .errors import UnknownServer

__all__ = ["http_url_problem", "pick_servers"]

T = TypeVar("T")


def http_url_problem(url: str, example: str | None = None) -> str | None:
    """What is wrong with ``url`` as an http(s) endpoint, or None when it is fine.

    The message never repeats the value: a token pasted into a URL variable must not reach a
    log or an error response. ``example`` is a URL the message shows instead.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        if example is not None:
            return f"must be an http(s) URL such as {example}"
        return "must be an http:// or https:// URL"
    return None


def pick_servers(requested: Sequence[str] | None, known: Mapping[str, T]) -> list[T]:
    """The entries of ``known`` for the ``requested`` ids, by id without repeats; all of them
    when ``requested`` is None. UnknownServer for the first unknown id, in id order."""
    if requested is None:
        return [known[key] for key in sorted(known)]
    wanted = sorted(set(requested))
    for server_id in wanted:
        if server_id not in known:
            raise UnknownServer(server_id)
    return [known[server_id] for server_id in wanted]

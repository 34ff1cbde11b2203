"""A throwaway real Redis server for tests, and a minimal RESP client to talk to it.

``running_redis()`` starts ``redis-server`` on a free loopback port with a temporary working
directory and no persistence (``--save '' --appendonly no``), waits until it answers PING, and
stops it and removes the directory on exit. The pytest fixtures below wrap it for one session.

``RespConnection`` speaks just enough RESP2 (the Redis wire protocol) for the fixtures and the
Upstash REST shim (tests/services/upstash_shim.py); no Redis client library is needed.

Fixtures:
    redis_server   session   RedisServer(host, port) of the running server (skips, or fails when
                             CI=true, if redis-server is not installed)
    clean_redis    function  the same RedisServer, after FLUSHALL

Loading this plugin also loads tests.services.upstash_shim (the ``upstash`` fixture: Upstash's
REST API in front of this Redis), so that it is registered before test modules import from it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.services.processes import free_port, stop_process

__all__ = [
    "RedisServer",
    "RespConnection",
    "RespError",
    "RespValue",
    "SimpleString",
    "clean_redis",
    "redis_server",
    "running_redis",
]

pytest_plugins = ["tests.services.upstash_shim"]

REDIS_SERVER = "redis-server"
_START_ATTEMPTS = 3
_START_DEADLINE_SECONDS = 10.0


class RespError(Exception):
    """An error reply (``-ERR ...``) from Redis."""


class SimpleString(str):
    """A status reply (``+OK``, ``+PONG``), kept distinct from bulk strings (bytes)."""


# Bulk strings are bytes, integers int, nil None; error replies inside a reply are RespError
# values (not raised) so that a pipeline can carry one failed command among good ones.
RespValue = None | int | bytes | SimpleString | RespError | list["RespValue"]


class RedisServer(NamedTuple):
    """Where a running server listens; unpacks as ``host, port``."""

    host: str
    port: int


class RespConnection:
    """One blocking TCP connection speaking RESP2."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._reader = self._sock.makefile("rb")

    def __enter__(self) -> RespConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def send(self, commands: Sequence[Sequence[object]]) -> None:
        """Write every command in one go (a pipeline); read the replies with ``read_reply``."""
        self._sock.sendall(b"".join(encode_command(command) for command in commands))

    def read_reply(self) -> RespValue:
        """The next reply; an error reply is returned as a RespError, not raised."""
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection mid-reply")
        kind, payload = line[:1], line[1:-2]
        if kind == b"+":
            return SimpleString(payload.decode())
        if kind == b"-":
            return RespError(payload.decode())
        if kind == b":":
            return int(payload)
        if kind == b"$":
            length = int(payload)
            if length < 0:
                return None
            data = self._reader.read(length + 2)
            if len(data) != length + 2:
                raise ConnectionError("redis closed the connection mid-reply")
            return data[:-2]
        if kind == b"*":
            count = int(payload)
            return None if count < 0 else [self.read_reply() for _ in range(count)]
        raise ConnectionError(f"unexpected RESP reply {line!r}")

    def call(self, *args: object) -> RespValue:
        """Send one command and return its reply; an error reply is raised."""
        self.send([args])
        reply = self.read_reply()
        if isinstance(reply, RespError):
            raise reply
        return reply


def encode_command(args: Sequence[object]) -> bytes:
    """A command as a RESP array of bulk strings (what redis-cli sends)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _to_bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _to_bytes(arg: object) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):
        raise TypeError("booleans are not Redis arguments")
    if isinstance(arg, int | float):
        return str(arg).encode()
    raise TypeError(f"cannot send {type(arg).__name__} as a Redis argument")


def redis_available() -> bool:
    """True when ``redis-server`` is on PATH."""
    return shutil.which(REDIS_SERVER) is not None


def _answers_ping(server: RedisServer) -> bool:
    try:
        with RespConnection(server.host, server.port, timeout=1.0) as conn:
            return conn.call("PING") == "PONG"
    except (OSError, RespError):
        return False


def _start(root: Path) -> tuple[subprocess.Popen[bytes], RedisServer]:
    """Start a server; another port is tried when the chosen one was taken meanwhile."""
    log = root / "redis.log"
    for _ in range(_START_ATTEMPTS):
        server = RedisServer("127.0.0.1", free_port())
        options = {
            "port": str(server.port),
            "bind": server.host,
            "save": "",  # no RDB snapshots
            "appendonly": "no",
            "dir": str(root),
            "daemonize": "no",
            "logfile": str(log),
        }
        args = [REDIS_SERVER, *(part for k, v in options.items() for part in (f"--{k}", v))]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_DEADLINE_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _answers_ping(server):
                return process, server
            time.sleep(0.05)
        stop_process(process)
    details = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise RuntimeError(f"redis-server did not answer PING:\n{details}")


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Start a throwaway server; stop it and delete its directory on exit."""
    root = Path(tempfile.mkdtemp(prefix="fleet-redis-"))
    try:
        process, server = _start(root)
        try:
            yield server
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def flushall(server: RedisServer) -> None:
    """Empty every database of the server."""
    with RespConnection(server.host, server.port) as conn:
        conn.call("FLUSHALL")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis for the whole session; a missing redis-server skips, or fails when CI=true."""
    if not redis_available():
        message = f"{REDIS_SERVER} is not installed (Debian package redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with running_redis() as server:
        yield server


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis, emptied before the test."""
    flushall(redis_server)
    return redis_server

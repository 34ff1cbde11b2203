"""API benchmarks: cold start of each function, warm latency in-process, requests/s over HTTP.

    .venv/bin/python bench/bench_api.py                   # everything (about two minutes)
    .venv/bin/python bench/bench_api.py --skip-http       # without the load test
    .venv/bin/python bench/bench_api.py --runs 11 --requests 500 --duration 5

Prints tables; asserts nothing (timings vary by machine). The goals, shown beside
the figures:

    cold start   no read function imports in more than 2x a bare ``import fastapi``
    warm         servers p50 within 3x a hello-world FastAPI endpoint; daily returning
                 2,880 rows from SQLite p50 under 30 ms
    HTTP         zero errors (non-2xx or socket errors) under load

Cold start runs each api/ file in a fresh interpreter, timing (``time.perf_counter``, inside
the child, after the interpreter started) the load of the module by path as Vercel's runtime
does; the first run of each is discarded (it writes the bytecode caches). Warm latency calls
each app through Starlette's TestClient (the same client for every row, gzip accepted) on a
scratch SQLite store holding one fleet-day. The load test starts ``python -m lib serve`` on
127.0.0.1 and drives it with ``wrk`` (2 threads, 10 connections), or, without wrk, a small
threaded httpx loop with the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(ROOT))

import httpx
import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lib.app import store_window
from lib.collectors import DummyCollector, simulator_from
from lib.core import DAY, Settings, get_settings
from lib.sim import DEFAULT_STEP
from lib.store import MetricQuery
from lib.web import (
    API_DIR,
    combined_app,
    deps,
)
from tests.services.processes import free_port

READ_FUNCTIONS = ("metrics.py", "monitoring.py",
                  "status.py", "prometheus.py")
NOTABLE = ("numpy", "pydantic_settings", "mangum", "prometheus_client", "upstash_redis",
           "supabase", "psycopg")
FLEET_DAY_ROWS = 2_880

COLD_CHILD = r"""
import importlib.util, json, sys, time
target, root, notable = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
sys.path.insert(0, root)
began = time.perf_counter()
if target == "fastapi":
    import fastapi
else:
    spec = importlib.util.spec_from_file_location("vercel_function", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
elapsed = time.perf_counter() - began
print(json.dumps({"seconds": elapsed, "modules": [m for m in notable if m in sys.modules]}))
"""


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under headers, the first column left-aligned and the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()


def default_env(sqlite_path: Path) -> dict[str, str]:
    """This environment without the project's settings (their defaults apply), the embedded
    store at ``sqlite_path`` and the in-process cache."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(SQLITE_PATH=str(sqlite_path), CACHE_BACKEND="memory")
    return env


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


# --- a. cold start ------------------------------------------------------------------------


def cold_import(target: str, env: dict[str, str]) -> tuple[float, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", COLD_CHILD, target, str(ROOT), ",".join(NOTABLE)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    return float(report["seconds"]), list(report["modules"])


def bench_cold_start(runs: int, env: dict[str, str]) -> None:
    files = sorted(str(p.relative_to(API_DIR)) for p in API_DIR.rglob("*.py"))
    targets = {"import fastapi": "fastapi", **{f"api/{f}": str(API_DIR / f) for f in files}}
    times: dict[str, list[float]] = {name: [] for name in targets}
    modules: dict[str, list[str]] = {}
    for name, target in targets.items():  # first runs write the bytecode caches
        _, modules[name] = cold_import(target, env)
    for _ in range(runs):  # interleaved, so drift in the machine's load hits every row alike
        for name, target in targets.items():
            times[name].append(cold_import(target, env)[0])
    base = statistics.median(times["import fastapi"])
    rows = []
    for name in targets:
        median = statistics.median(times[name])
        ratio = median / base
        read = name.removeprefix("api/") in READ_FUNCTIONS
        goal = ("ok" if ratio <= 2 else "MISSED") if read else "-"
        rows.append((name, ms(median), ms(min(times[name])), ms(max(times[name])),
                     f"{ratio:.2f}x", goal, ",".join(modules[name]) or "-"))
    print(f"a. Cold start: import in a fresh interpreter, median of {runs} runs "
          "(goal: read functions <= 2x import fastapi)")
    table(("module", "median ms", "min ms", "max ms", "vs fastapi", "goal <=2x",
           "notable imports"), rows)


# --- b. warm latency ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Warm:
    name: str
    url: str
    samples: list[float]
    status: int
    source: str
    size: int

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client: TestClient, name: str, url: str, requests: int, warmup: int = 20) -> Warm:
    for _ in range(warmup):
        response = client.get(url)
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - began)
    return Warm(name, url, samples, response.status_code,
                response.headers.get("x-data-source", "-"), len(response.content))


def measure_direct(app: FastAPI, url: str, requests: int, warmup: int = 20) -> list[float]:
    """The same request through httpx's ASGITransport on one event loop: the app's own time,
    without TestClient's thread portal (which costs milliseconds on a 560 KB body)."""

    async def run() -> list[float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(warmup):
                await client.get(url, headers={"Accept-Encoding": "gzip"})
            samples = []
            for _ in range(requests):
                began = time.perf_counter()
                await client.get(url, headers={"Accept-Encoding": "gzip"})
                samples.append(time.perf_counter() - began)
            return samples

    return asyncio.run(run())


def hello_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


@contextmanager
def settings_env(env: dict[str, str]) -> Iterator[None]:
    """The process runs with ``env`` (and fresh backends) inside the block."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    deps.reset_resources()
    try:
        yield
    finally:
        deps.reset_resources()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def fill_fleet_day() -> int:
    """The last 24 hours through the current tick into the configured store; rows written."""
    now = int(time.time())
    end = now - now % DEFAULT_STEP + DEFAULT_STEP
    collector = DummyCollector(simulator_from(get_settings()))
    return store_window(collector, deps.provide_store(), end - DAY, end).rows


def median_time(action: Callable[[], object], repeat: int = 20) -> float:
    action()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def daily_breakdown() -> list[tuple[str, float]]:
    """Where the time of ``daily`` with 2,880 rows goes, step by step, outside HTTP."""
    store = deps.provide_store()
    rows = store.query_metrics(MetricQuery(limit=FLEET_DAY_ROWS + 1))
    payload = {"data": [r.as_dict() for r in rows], "count": len(rows), "next_cursor": None}
    body = orjson.dumps(payload)
    return [
        (f"store.query_metrics ({len(rows):,} MetricRows)",
         median_time(lambda: store.query_metrics(MetricQuery(limit=FLEET_DAY_ROWS + 1)))),
        ("MetricRow.as_dict for every row (format_iso)",
         median_time(lambda: [r.as_dict() for r in rows])),
        (f"orjson.dumps, what the app uses ({len(body):,} bytes)",
         median_time(lambda: orjson.dumps(payload))),
        ("json.dumps, for comparison",
         median_time(lambda: json.dumps(payload, separators=(",", ":"),
                                        ensure_ascii=False).encode())),
        ("sha256 of the body (ETag)", median_time(lambda: hashlib.sha256(body).hexdigest())),
        (f"gzip level 1, what the app uses ({len(gzip.compress(body, 1)):,} bytes)",
         median_time(lambda: gzip.compress(body, 1))),
        (f"gzip level 9, for comparison ({len(gzip.compress(body, 9)):,} bytes)",
         median_time(lambda: gzip.compress(body, 9))),
    ]


def bench_warm(requests: int, env: dict[str, str]) -> None:
    with settings_env(env):
        written = fill_fleet_day()
        breakdown = daily_breakdown()
        hello_app_, api_app = hello_app(), combined_app()
        with TestClient(hello_app_) as hello, TestClient(api_app) as api:
            daily_body = api.get("/api/metrics/daily?limit=5000").json()
            results = [
                measure(hello, "hello-world FastAPI", "/hello", requests),
                measure(api, "servers (whole fleet)", "/api/monitoring/servers", requests),
                measure(api, f"daily ({daily_body['count']:,} rows)",
                        "/api/metrics/daily?limit=5000", requests),
                measure(api, "daily (limit=100)", "/api/metrics/daily?limit=100", requests),
                measure(api, "performance (1 hour)",
                        "/api/monitoring/performance?serverId=web-01", requests),
                measure(api, "status", "/api/status", requests),
            ]
            direct = [measure_direct(hello_app_ if r.url == "/hello" else api_app, r.url,
                                     requests) for r in results]
    hello_p50 = results[0].p(0.5)
    direct_p50 = [statistics.median(d) for d in direct]
    goals = {"servers (whole fleet)": ("<=3x hello", direct_p50[1] <= 3 * direct_p50[0]),
             results[2].name: ("<30 ms", direct_p50[2] < 0.030)}
    rows = []
    for r, d, d50 in zip(results, direct, direct_p50, strict=True):
        goal, met = goals.get(r.name, ("", True))
        rows.append((r.name, r.status, r.source, f"{r.size:,}", ms(r.p(0.5)), ms(r.p(0.99)),
                     f"{r.p(0.5) / hello_p50:.1f}x", ms(d50), ms(sorted(d)[int(0.99 * len(d))]),
                     f"{d50 / direct_p50[0]:.1f}x",
                     f"{goal}: {'ok' if met else 'MISSED'}" if goal else "-"))
    print(f"b. Warm latency in-process, {requests} requests each, gzip accepted: through "
          "TestClient, and direct (httpx ASGITransport on one event loop; the goals use these); "
          f"store: {written:,} rows (one fleet-day), daily body holds "
          f"{daily_body['count']:,} rows (expected {FLEET_DAY_ROWS:,})")
    table(("endpoint", "status", "source", "bytes decoded", "TC p50", "TC p99", "TC vs hello",
           "direct p50", "direct p99", "direct vs hello", "goal"), rows)
    print("b'. daily with 2,880 rows, step by step outside HTTP (median of 20)")
    table(("step", "ms"), [(step, ms(seconds)) for step, seconds in breakdown])


# --- c. requests per second over HTTP -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Load:
    name: str
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    detail: str


@contextmanager
def local_server(env: dict[str, str]) -> Iterator[str]:
    """``python -m lib serve`` on a free 127.0.0.1 port, until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "lib", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )
        try:
            wait_until_serving(server, base, log)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_until_serving(server: subprocess.Popen[bytes], base: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 180  # it first fills yesterday and today
    while True:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited:\n{log.read().decode(errors='replace')}")
        try:
            if httpx.get(f"{base}/api/status", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not answer within 180 s")
        time.sleep(0.25)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _find(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in wrk's report."""
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in wrk's output:\n{text}")
    return found.group(1)


def _seconds(text: str) -> float:
    """A wrk duration (``812.34us``, ``1.02ms``, ``10.01s``) in seconds."""
    unit = _find(r"(us|ms|s|m)$", text)
    return float(text.removesuffix(unit)) * _UNITS[unit]


def run_wrk(wrk: str, name: str, url: str, seconds: int) -> Load:
    out = subprocess.run(
        [wrk, "-t2", "-c10", f"-d{seconds}s", "--latency", "--timeout", "5s", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    total = int(_find(r"(\d+) requests in", out))
    spent = _seconds(_find(r"requests in ([\d.]+\w+),", out))
    p50 = _seconds(_find(r"50%\s+([\d.]+\w+)", out))
    p99 = _seconds(_find(r"99%\s+([\d.]+\w+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    detail = socket_errors.group(0) if socket_errors else "no socket errors"
    return Load(name, total, spent, p50, p99, errors, detail)


def run_threads(name: str, url: str, seconds: int, connections: int = 10) -> Load:
    """The fallback load loop: ``connections`` threads, each with its own keep-alive client."""
    samples: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine, failed = [], 0
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < stop:
                began = time.perf_counter()
                try:
                    ok = client.get(url).is_success
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - began)
                failed += not ok
        with lock:
            samples.extend(mine)
            errors[0] += failed

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = time.monotonic() - began
    ordered = sorted(samples)
    return Load(name, len(samples), spent, ordered[len(ordered) // 2],
                ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], errors[0],
                "httpx threads")


def bench_http(seconds: int, env: dict[str, str]) -> None:
    wrk = shutil.which("wrk")
    run: Callable[[str, str, int], Load]
    if wrk is not None:
        tool = "wrk -t2 -c10 --latency"

        def run(name: str, url: str, duration: int) -> Load:
            return run_wrk(wrk, name, url, duration)
    else:
        tool = "threaded httpx loop, 10 connections"
        print("note: wrk is not installed (Debian: apt-get install -y wrk); falling back to a "
              "threaded httpx load loop, which measures the client as much as the server\n")
        run = run_threads
    with local_server(env) as base:
        results = [
            run("servers", f"{base}/api/monitoring/servers", seconds),
            run("daily (limit=100)", f"{base}/api/metrics/daily?limit=100", seconds),
        ]
    print(f"c. Requests per second over HTTP: python -m lib serve (one uvicorn process) on "
          f"127.0.0.1, {tool}, {seconds} s each (goal: zero errors)")
    table(("endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors", "goal", "detail"),
          [(r.name, f"{r.requests:,}", f"{r.requests / r.seconds:,.0f}", ms(r.p50), ms(r.p99),
            r.errors, "ok" if r.errors == 0 else "MISSED", r.detail) for r in results])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold starts per module (7)")
    parser.add_argument("--requests", type=int, default=300, help="warm requests each (300)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run (10)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs\n")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        if not args.skip_cold:
            bench_cold_start(args.runs, default_env(Path(tmp, "cold.sqlite3")))
        if not args.skip_warm:
            bench_warm(args.requests, default_env(Path(tmp, "warm.sqlite3")))
        if not args.skip_http:
            bench_http(args.duration, default_env(Path(tmp, "http.sqlite3")))


if __name__ == "__main__":
    main()

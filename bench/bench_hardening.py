"""What one request can cost: CPU time and peak extra memory of every request in the
hardening corpus (tests/web/test_hardening.py), beside a plain ``servers`` request.

    .venv/bin/python bench/bench_hardening.py              # the whole corpus, 3 runs each
    .venv/bin/python bench/bench_hardening.py --runs 5

Each request runs in a fresh interpreter holding the combined app on a scratch SQLite store
with one fleet-day: the child warms the app up with a plain request, then measures the one
request — CPU as ``time.process_time`` (every thread of the process, so the thread pool that
runs the endpoint is counted), memory as the growth of the peak RSS (``ru_maxrss``) over what
the warm-up had already reached. The median of the runs is shown.

Goal: every corpus request at most 100 ms of CPU and 50 MB, and at most 5x a plain
``GET /api/monitoring/servers``. Legitimate heavy requests (a full daily page, 2,000 points
from the generator, a cold Prometheus scrape, a 7-day batch) are listed after, for scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(ROOT))

from tests.web.test_hardening import CORPUS, CRON_SECRET

PLAIN = ("GET", "/api/monitoring/servers")
HEAVY = [
    ("GET", "/api/metrics/daily?limit=5000"),
    ("GET", "/api/monitoring/performance?serverId=web-01&step=30&from=2024-01-01T00:00:00Z"
            "&to=2024-01-01T16:39:00Z"),
    ("GET", "/api/monitoring/performance?serverId=web-01&step=4000&from=2023-10-05T00:00:00Z"
            "&to=2024-01-05T00:00:00Z"),
    ("GET", "/api/prometheus?at=2024-01-07T23:59:59Z"),
    ("POST", "/api/generate-batch?start=2024-01-01T00:00:00Z&end=2024-01-08T00:00:00Z"),
]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from lib.web import deps
from lib.collectors.dummy import DummyCollector
from lib.core.settings import Settings
from lib.sim.fleet import get_fleet
from lib.sim.generator import Simulator
from lib.web.local import combined_app
from lib.store.sqlite import SQLiteStore
from tests.web.test_hardening import call

method, path, secret, authorized = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
target = sys.stdin.read()  # URLs past the 128 KB limit of one argument
store = SQLiteStore(path)
app = combined_app()
settings = Settings(metrics_seed=424242, cron_secret=secret, retention_hours=24 * 365 * 10)
app.dependency_overrides.update({
    deps.provide_store: lambda: store,
    deps.provide_settings: lambda: settings,
    deps.provide_collector: lambda: DummyCollector(Simulator(424242, get_fleet())),
    deps.provide_now: lambda: 1704412800,  # 2024-01-05T00:00:00Z
})
headers = {"Authorization": f"Bearer {secret}"} if authorized == "yes" else {}
for _ in range(2):
    call(app, "GET", "/api/monitoring/servers?serverId=web-02")
    call(app, "GET", "/api/metrics/daily?limit=10")
before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before_cpu = time.process_time()
answer = call(app, method, target, headers)
cpu = time.process_time() - before_cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_rss
print(json.dumps({"status": answer.status, "cpu_ms": cpu * 1000, "peak_mb": peak / 1024}))
"""


def scratch_store(folder: Path) -> Path:
    """A SQLite file holding 2024-01-04 for the default fleet (seed 424242)."""
    from lib.app import store_window
    from lib.collectors import DummyCollector
    from lib.sim import Simulator, get_fleet
    from lib.store.sqlite import SQLiteStore

    path = folder / "bench.sqlite3"
    store = SQLiteStore(str(path))
    day = 1_704_326_400  # 2024-01-04
    store_window(DummyCollector(Simulator(424242, get_fleet())), store, day, day + 86_400)
    store.close()
    return path


def measure(method: str, target: str, store: Path, runs: int, *, authorized: bool = False
            ) -> tuple[int, float, float]:
    """(status, median CPU ms, median peak extra MB) of ``runs`` fresh-process runs; the
    corpus is sent as an anonymous client would, the heavy requests with the cron token."""
    results = []
    for _ in range(runs):
        copy = store.with_name(f"run-{len(results)}.sqlite3")
        copy.write_bytes(store.read_bytes())
        argv = [sys.executable, "-c", CHILD, str(ROOT), method, str(copy), CRON_SECRET,
                "yes" if authorized else "no"]
        out = subprocess.run(argv, input=target, capture_output=True, text=True, check=True,
                             cwd=ROOT).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return (results[0]["status"], statistics.median(r["cpu_ms"] for r in results),
            statistics.median(r["peak_mb"] for r in results))


def row(label: str, status: int, cpu: float, peak: float, plain: float) -> str:
    verdict = "ok" if cpu <= 100 and peak <= 50 and cpu <= 5 * plain else "OVER"
    return (f"| {label[:78]} | {status} | {cpu:.1f} | {peak:.1f} | {cpu / plain:.1f}x "
            f"| {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = scratch_store(Path(tmp))
        _, plain_cpu, plain_peak = measure(*PLAIN, store, args.runs)
        corpus = [(m, t, *measure(m, t, store, args.runs)) for m, t, _, _ in CORPUS]
        heavy = [(m, t, *measure(m, t, store, args.runs, authorized=True)) for m, t in HEAVY]
    header = ("| request | status | CPU ms | peak extra MB | x servers | goal |\n"
              "|---|---|---|---|---|---|")
    print(f"plain GET /api/monitoring/servers: {plain_cpu:.1f} ms CPU, "
          f"{plain_peak:.1f} MB peak extra (median of {args.runs} fresh processes)\n")
    print(f"The 10 most expensive of {len(corpus)} corpus requests (by CPU):\n")
    print(header)
    for method, target, status, cpu, peak in sorted(corpus, key=lambda r: -r[3])[:10]:
        print(row(f"{method} {target}", status, cpu, peak, plain_cpu))
    worst_peak = max(corpus, key=lambda r: r[4])
    print(f"\nlargest peak in the corpus: {worst_peak[4]:.1f} MB "
          f"({worst_peak[0]} {worst_peak[1][:60]})\n")
    print("Legitimate heavy requests, for scale:\n")
    print(header)
    for method, target, status, cpu, peak in heavy:
        print(row(f"{method} {target}", status, cpu, peak, plain_cpu))


if __name__ == "__main__":
    main()

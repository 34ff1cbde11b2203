"""Generator throughput and peak memory, beside GutenTAG generating as many points.

Each workload runs in its own fresh process so peak RSS is that workload's alone.
GutenTAG (PyPI ``timeeval-gutentag``) pins an older numpy, so it lives in its own
virtualenv (``make bench`` creates .venv-bench); without it that column says so.

    python bench/bench_generator.py [--gutentag-python PATH] [--large-servers N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS_PER_ROW = 7  # cpu, memory, disk, response_time, network_rx, network_tx, connections

OURS = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from lib.sim.fleet import get_fleet, scaled_fleet
from lib.sim.generator import Simulator
servers, ticks = {servers}, {ticks}
fleet = get_fleet("default") if servers == 20 else scaled_fleet(servers)
sim = Simulator(20240101, fleet)
start = 1704067200
t0 = time.perf_counter()
rows = 0
for frame in sim.frames(start, start + ticks * 600, 600):
    rows += frame.cpu.size
wall = time.perf_counter() - t0
print(json.dumps({{"rows": rows, "wall": wall,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

GUTENTAG = """
import json, resource, time, warnings
warnings.filterwarnings("ignore")
from gutenTAG import GutenTAG
series, length, channels = {servers}, {ticks}, {channels}
config = {{"timeseries": [{{
    "name": f"s{{i}}", "length": length, "semi-supervised": False, "supervised": False,
    "base-oscillations": [{{"kind": "sine", "frequency": 2.0, "amplitude": 1.0,
                            "variance": 0.05}} for _ in range(channels)],
    "anomalies": [
        {{"position": "middle", "length": max(2, length // 40), "channel": 0,
          "kinds": [{{"kind": "mean", "offset": 0.5}}]}},
        {{"position": "end", "length": max(2, length // 80), "channel": 1,
          "kinds": [{{"kind": "platform", "value": 0.0}}]}},
    ],
}} for i in range(series)]}}
t0 = time.perf_counter()
gen = GutenTAG(seed=1, n_jobs=1)
gen.load_config_dict(config)
out = gen.generate(return_timeseries=True)
wall = time.perf_counter() - t0
rows = sum(len(ts.timeseries) for ts in out)
print(json.dumps({{"rows": rows, "wall": wall,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(python: str, code: str) -> dict[str, float]:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_gt = ROOT / ".venv-bench" / "bin" / "python"
    parser.add_argument("--gutentag-python", default=str(default_gt))
    parser.add_argument("--large-servers", type=int, default=1000)
    parser.add_argument("--large-ticks", type=int, default=8640)
    args = parser.parse_args()
    have_gt = Path(args.gutentag_python).exists()

    workloads = [("fleet-day", 20, 144), ("large", args.large_servers, args.large_ticks)]
    print(f"{'workload':<10} {'generator':<10} {'points':>12} {'wall s':>8} "
          f"{'M values/s':>11} {'peak RSS MB':>12}")
    ratios = {}
    for name, servers, ticks in workloads:
        ours = run(sys.executable, OURS.format(root=str(ROOT), servers=servers, ticks=ticks))
        values = ours["rows"] * METRICS_PER_ROW
        _row(name, "ours", values, ours)
        if have_gt:
            gt = run(args.gutentag_python, GUTENTAG.format(servers=servers, ticks=ticks,
                                                           channels=METRICS_PER_ROW))
            gt_values = gt["rows"] * METRICS_PER_ROW
            _row(name, "GutenTAG", gt_values, gt)
            ratios[name] = (values / ours["wall"]) / (gt_values / gt["wall"])
        else:
            print(f"{name:<10} {'GutenTAG':<10} not installed (make bench creates .venv-bench)")
    for name, ratio in ratios.items():
        print(f"{name}: ours / GutenTAG points per second = {ratio:.1f}x")


def _row(name: str, who: str, values: int, result: dict[str, float]) -> None:
    print(f"{name:<10} {who:<10} {values:>12,} {result['wall']:>8.3f} "
          f"{values / result['wall'] / 1e6:>11.2f} {result['rss_mb']:>12.1f}")


if __name__ == "__main__":
    main()

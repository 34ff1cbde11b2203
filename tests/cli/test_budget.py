"""``python -m lib budget``: a month of usage from per-operation costs, line by line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COSTS = {
    "function_memory_gb": 1.0,
    "storage": {"row_bytes": 300, "rollup_bytes": 400, "fixed_bytes": 100_000},
    "operations": {
        "poll": {"cpu_ms": 10, "wall_ms": 20, "response_bytes": 2000, "upstash_commands": 0,
                 "upstash_bytes": 0, "supabase_egress_bytes": 0, "snapshot_bytes": 9000},
        "poll_real": {"cpu_ms": 50, "wall_ms": 100, "response_bytes": 2000,
                      "upstash_commands": 2, "upstash_bytes": 20_000,
                      "supabase_egress_bytes": 0, "snapshot_bytes": 9000},
        "cron": {"cpu_ms": 1000, "wall_ms": 2000, "response_bytes": 500,
                 "upstash_commands": 0, "upstash_bytes": 0, "supabase_egress_bytes": 1000},
        "alerts": {"cpu_ms": 5, "wall_ms": 10, "response_bytes": 300, "upstash_commands": 1,
                   "upstash_bytes": 100, "supabase_egress_bytes": 2000},
    },
}


def budget(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(COSTS))
    return subprocess.run([sys.executable, "-m", "lib", "budget", "--costs", str(costs), *args],
                          cwd=ROOT, env={"PATH": ""}, capture_output=True, text=True,
                          timeout=60)


def test_default_usage_line_by_line(tmp_path: Path) -> None:
    # 1 dashboard all day and 10 people 8 h a day at 30 s; alerts every minute; the cron.
    # Invocations: 86,400 ticks (polls of a tick share one) + 43,200 alerts + 30 crons.
    result = budget(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "| Vercel: function invocations | 129,630  | 1,000,000  | 13.0 % | ok |" in lines
    assert "| Vercel: active CPU | 0.308 h | 4 h | 7.7 % | ok |" in lines
    assert "| Vercel: provisioned memory | 0.617 GB-h | 360 GB-h | 0.2 % | ok |" in lines
    # 374,400 polls × 2,000 bytes + the crons' and alerts' answers
    assert "| Vercel: data transfer | 0.762 GB | 100 GB | 0.8 % | ok |" in lines
    assert "| Upstash: commands | 43,200  | 500,000  | 8.6 % | ok |" in lines
    # 20 servers × 168 h × 6 rows × 300 B + 20 × 90 days × 24 rollups × 400 B + 100 kB
    assert "| Supabase: database size | 23.4 MB | 500 MB | 4.7 % | ok |" in lines
    assert "| Supabase: egress | 0.0864 GB | 5 GB | 1.7 % | ok |" in lines
    # Through the CDN only the transfer grows with more dashboards: each adds 86,400 polls ×
    # 2,000 B a month, so (100 GB − 0.589 GB) / 0.1728 GB = 575.3.
    assert "most always-open dashboards that fit the free tiers: 575" in lines


def test_a_real_source_and_no_cdn_sharing(tmp_path: Path) -> None:
    result = budget(tmp_path, "--real-source", "--no-cdn", "--alerts-every", "0")
    lines = result.stdout.splitlines()
    # every one of the 374,400 polls runs the function and spends 2 commands
    assert "| Vercel: function invocations | 374,430  | 1,000,000  | 37.4 % | OVER 1/3 |" \
        in lines
    assert "| Upstash: commands | 748,800  | 500,000  | 149.8 % | OVER 1/3 |" in lines


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = budget(tmp_path, "--poll-seconds", "0")
    assert result.returncode == 2 and "--poll-seconds" in result.stderr

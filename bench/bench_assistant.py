"""The assistant: intent accuracy on the question table, and the cold start of /api/mcp.

    .venv/bin/python bench/bench_assistant.py [--runs 5]

Accuracy: each question of tests/assistant/questions.py parsed (intent, server, metric) and
compared with the table. Cold start: a fresh interpreter per run, median of --runs — a bare
FastAPI app (``import fastapi; FastAPI()``), ``api/mcp.py`` loaded by path as Vercel does,
the same plus the MCP SDK its first request imports, and ``api/ask.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(ROOT))

from lib.assistant import parse_question
from lib.sim import get_fleet
from tests.assistant.questions import QUESTIONS

NOW = 1_704_189_607  # 2024-01-02T10:00:07Z

LOAD = """
import importlib.util, sys, time
began = time.perf_counter()
{body}
elapsed = time.perf_counter() - began
print(elapsed, int("mcp" in sys.modules))
"""
BY_PATH = """
spec = importlib.util.spec_from_file_location("f", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""
CASES = {
    "bare FastAPI app": "import fastapi\nfastapi.FastAPI()",
    "api/mcp.py (module)": BY_PATH.format(path=str(ROOT / "api" / "mcp.py")),
    "api/mcp.py + the SDK (first request)": BY_PATH.format(path=str(ROOT / "api" / "mcp.py"))
    + "import mcp.server.mcpserver, mcp.server.streamable_http_manager\n",
    "api/ask.py": BY_PATH.format(path=str(ROOT / "api" / "ask.py")),
}


def accuracy() -> tuple[int, int, list[str]]:
    ids = [t.id for t in get_fleet().servers]
    right, wrong = 0, []
    for question, intent, server, metric in QUESTIONS:
        parsed = parse_question(question, ids, NOW, "Asia/Seoul")
        expected = () if server is None else (server,) if isinstance(server, str) else server
        ok = parsed.intent == intent and (intent == "unknown_server"
                                          or parsed.servers == expected) \
            and (metric is None or parsed.metric == metric)
        right += ok
        if not ok:
            wrong.append(f"{question!r}: {parsed.intent} {parsed.servers} {parsed.metric}")
    return right, len(QUESTIONS), wrong


def cold(body: str, runs: int) -> tuple[float, bool]:
    times, loaded = [], False
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LOAD.format(body=body)], cwd=ROOT,
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
        times.append(float(out[0]))
        loaded = out[1] == "1"
    return statistics.median(times), loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    right, total, wrong = accuracy()
    korean = sum(1 for q in QUESTIONS if any("\uac00" <= c <= "\ud7a3" for c in q[0]))
    print(f"intent accuracy: {right}/{total} = {right / total:.3f} "
          f"({korean} questions in Korean)")
    for line in wrong:
        print("  wrong:", line)
    print("\n| cold start (median of", args.runs, "fresh interpreters) | ms | × bare FastAPI "
          "| mcp imported |\n|---|---|---|---|")
    base = None
    for name, body in CASES.items():
        seconds, loaded = cold(body, args.runs)
        base = base or seconds
        print(f"| {name} | {seconds * 1000:.0f} | {seconds / base:.2f} | "
              f"{'yes' if loaded else 'no'} |")
    print(json.dumps({"accuracy": right / total}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

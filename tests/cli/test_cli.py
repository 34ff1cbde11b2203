"""The command line: output shape, seeds, and one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lib", *args], capture_output=True, text=True,
                          cwd=ROOT, env={"PATH": "", **(env or {})}, timeout=120)


def test_export_writes_a_day_of_jsonl_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--start", "2024-01-01", "--end", "2024-01-02", "--seed", "5"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2_880
    assert list(rows[0]) == ["timestamp", "server_id", "cpu", "memory", "disk", "response_time",
                             "network_rx", "network_tx", "connections", "status"]
    assert rows[0]["timestamp"] == "2024-01-01T00:00:00Z" and rows[0]["server_id"] == "api-01"
    keys = [(r["timestamp"], r["server_id"]) for r in rows]
    assert keys == sorted(keys)
    assert {r["status"] for r in rows} == {"healthy", "warning", "critical"}


def test_export_csv_for_chosen_servers_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    code = main(["export", "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-01T01:00:00Z",
                 "--server", "web-01", "--server", "db-02", "--step", "300", "--format", "csv",
                 "--out", str(out), "--seed", "5"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 24
    assert [r["server_id"] for r in rows[:2]] == ["db-02", "web-01"]
    assert rows[1]["timestamp"] == "2024-01-01T00:00:00Z"
    assert rows[2]["timestamp"] == "2024-01-01T00:05:00Z"


def test_same_seed_same_rows_and_random_seed_is_printed() -> None:
    window = ["--start", "2024-03-01", "--end", "2024-03-01T02:00:00Z"]
    first = run("export", *window, "--seed", "random")
    assert first.returncode == 0
    seed = first.stderr.strip().removeprefix("seed: ")
    assert seed.isdigit()
    again = run("export", *window, "--seed", seed)
    assert again.stdout == first.stdout
    by_env = run("export", *window, env={"METRICS_SEED": seed})
    assert by_env.stdout == first.stdout
    assert run("export", *window, "--seed", str(int(seed) + 1)).stdout != first.stdout


def test_incidents_prints_ground_truth_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["incidents", "--start", "2024-01-01", "--end", "2024-01-03", "--seed", "5"]) == 0
    incidents = json.loads(capsys.readouterr().out)
    assert 4 <= len(incidents) <= 30
    first = incidents[0]
    assert set(first) == {"id", "pattern", "origin", "affected", "start", "end", "intensity"}
    assert first["affected"][0] == {"server_id": first["origin"], "onset": first["start"]}
    assert all(i["end"] > "2024-01-01T00:00:00Z" and i["start"] < "2024-01-03" for i in incidents)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--start", "2024-01-02", "--end", "2024-01-01"], "--end"),
        (["--start", "yesterday", "--end", "2024-01-01"], "--start"),
        (["--start", "2024-01-01", "--end", "2024-02-30"], "--end"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--server", "web-99"], "--server"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--step", "10"], "--step"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--step", "90.5"], "--step"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--seed", "abc"], "--seed"),
        (["--start", "2024-01-01", "--end", "2024-01-02", "--fleet", "huge"], "--fleet"),
        (["--start", "2024-01-01"], "--end"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], names: str) -> None:
    result = run("export", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_metrics_seed_variable_is_named() -> None:
    result = run("incidents", "--start", "2024-01-01", "--end", "2024-01-02",
                 env={"METRICS_SEED": "x1"})
    assert result.returncode == 2 and result.stderr.startswith("error: METRICS_SEED")


@pytest.mark.parametrize("command", [[], ["export"], ["incidents"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and "usage: python -m lib" in result.stdout

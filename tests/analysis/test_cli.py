"""`python -m lib analyze` and `evaluate`: thin wrappers over lib.evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.cli import main


def test_analyze_a_simulated_window_prints_incidents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--start", "2024-06-01", "--end", "2024-06-02", "--seed", "7"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found, "a simulated day always has incidents"
    first = found[0]
    assert set(first) == {"start", "end", "origin", "candidates", "pattern", "confidence",
                          "affected", "evidence"}
    assert len(first["candidates"]) >= 5
    assert first["candidates"][0]["server_id"] == first["origin"]
    assert first["start"].endswith("Z")


def test_analyze_reads_an_exported_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rows.jsonl"
    assert main(["export", "--start", "2024-06-01", "--end", "2024-06-03", "--seed", "7",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", "--input", str(out)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list) and found


def test_analyze_without_input_or_window_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["analyze"]) == 2
    assert "--input" in capsys.readouterr().err


def test_evaluate_prints_a_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["evaluate", "--start", "2024-06-01", "--end", "2024-06-02", "--seed", "7"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "event F1" in table and "RobustScorer" in table
    assert main([*args, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in card["methods"]] == ["ours", "NSigma", "RobustScorer"]

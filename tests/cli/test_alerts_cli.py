"""``python -m lib alerts check|replay``: the rules file's errors, and the notifications of
a replay as JSON lines — the same from simulated rows and from the exported file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.app.alert_replay import notification_line, replay_window
from lib.cli import main
from lib.core import parse_instant


def test_check_lists_the_default_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "the shipped defaults: 9 rules valid"
    assert "  CpuCritical (threshold)" in out and "  Anomaly (anomaly)" in out


def test_check_names_the_bad_line_and_field(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nname="A"\nkind="threshold"\nmetric="cpu"\n'
                    'severity="bad"\nfire=3\n')
    assert main(["alerts", "check", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"error: {path}:5: rules[0].severity: Input should be 'warning' "
                           "or 'critical'")


def test_replay_prints_every_notification_as_a_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--start", "2025-03-02", "--end", "2025-03-04", "--seed", "5"]
    assert main(["alerts", "replay", *args]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    start = parse_instant("2025-03-02T00:00:00Z", "start")
    expected = [notification_line(n) for n in
                replay_window(start, start + 2 * 86_400, 5).notifications]
    assert lines == json.loads(json.dumps(expected)) and len(lines) >= 3
    assert set(lines[0]) == {"status", "group_key", "at", "origin", "pattern", "servers",
                             "severity", "labels", "reason", "seq"}
    assert {line["status"] for line in lines} == {"firing", "resolved"}
    firing = [line for line in lines if line["status"] == "firing"]
    assert all(line["servers"][0] == line["origin"] for line in firing)


def test_replay_of_an_exported_file_agrees_with_the_simulated_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.jsonl"
    assert main(["export", "--start", "2025-02-23", "--end", "2025-03-04", "--seed", "5",
                 "--step", "600", "--out", str(rows)]) == 0
    capsys.readouterr()
    assert main(["alerts", "replay", "--input", str(rows)]) == 0
    from_file = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["alerts", "replay", "--start", "2025-03-02", "--end", "2025-03-04",
                 "--seed", "5"]) == 0
    simulated = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # the file's first week is history; from then on the engine says the same things
    late = [n for n in from_file if n["at"] >= "2025-03-02"]
    assert [(n["status"], n["at"], n["origin"], n["pattern"]) for n in late[-3:]] == \
        [(n["status"], n["at"], n["origin"], n["pattern"]) for n in simulated[-3:]]

"""The rule that makes the analysis honest: rows only, no simulator, robust to shifted time."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from lib.analysis import Panel, analyze_panel, score
from lib.app.evaluation import EvaluationData, generate

from .synthetic import DAY

ALLOWED = {"lib.core"}  # the kernel: settings, errors, records, time
FORBIDDEN_ROOTS = {"lib"}  # anything else under lib/ (the simulator above all)
WEEK = 7 * DAY


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_analysis_imports_nothing_from_the_simulator() -> None:
    package = Path(__file__).resolve().parents[2] / "lib" / "analysis"
    for path in package.glob("*.py"):
        for module in _imports(path):
            root = module.split(".")[0]
            if root in FORBIDDEN_ROOTS:
                assert module in ALLOWED or module.startswith(("lib.analysis", "lib.core.")), \
                    f"{path.name} imports {module}"
            else:
                assert root in {"numpy", "__future__"} or root in _stdlib(), module


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def data() -> EvaluationData:
    start = 1_718_236_800  # 2024-06-13, a Thursday
    return generate(4242, "default", start, start + 5 * DAY, 600, warmup_days=5)


def _shifted(panel: Panel, by: int) -> Panel:
    return Panel(panel.timestamps + by, panel.server_ids, panel.step, panel.values)


def test_rows_shifted_by_a_week_give_the_same_incidents(data: EvaluationData) -> None:
    base = analyze_panel(data.panel, data.roles).incidents
    moved = analyze_panel(_shifted(data.panel, WEEK), data.roles).incidents
    assert len(base) > 10
    assert [(i.start + WEEK, i.origin, i.pattern, i.affected) for i in base] == [
        (i.start, i.origin, i.pattern, tuple((s, t - WEEK) for s, t in i.affected))
        for i in moved
    ]


def test_rows_shifted_by_an_odd_amount_still_score_alike(data: EvaluationData) -> None:
    by = 3 * DAY + 7 * 3600 + 1800  # not a whole day: slots and days fall elsewhere
    window = (data.start, data.end)
    servers = len(data.roles)
    base = score([i.as_detected() for i in analyze_panel(data.panel, data.roles).incidents],
                 data.truths, window, 600, servers)
    moved_truths = [t.__class__(t.id, t.pattern, t.origin, t.start + by, t.end + by,
                                t.intensity, tuple(a.__class__(a.server_id, a.onset + by)
                                                   for a in t.affected))
                    for t in data.truths]
    moved = score([i.as_detected() for i in
                   analyze_panel(_shifted(data.panel, by), data.roles).incidents],
                  moved_truths, (window[0] + by, window[1] + by), 600, servers)
    assert moved.f1 >= base.f1 - 0.1
    assert moved.ac[0] >= base.ac[0] - 0.1


def test_rows_from_rows_equal_rows_from_arrays(data: EvaluationData) -> None:
    panel = data.panel.window(data.start, data.start + DAY)
    rows = [
        (int(ts), sid, *(float(panel.values[m][i, j]) for m in
                         ("cpu", "memory", "disk", "response_time", "network_rx", "network_tx",
                          "connections")))
        for i, ts in enumerate(panel.timestamps) for j, sid in enumerate(panel.server_ids)
    ]
    from lib.core import MetricRow

    again = Panel.from_rows(
        MetricRow(ts, sid, c, m, d, int(r), rx, tx, int(n), "healthy")
        for ts, sid, c, m, d, r, rx, tx, n in rows
    )
    for metric in panel.values:
        np.testing.assert_array_equal(again.values[metric], panel.values[metric])

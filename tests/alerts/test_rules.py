"""Alert rules: the shipped defaults, and a rules file's errors naming line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.alerts.rules import (
    AnomalyRule,
    RuleError,
    ThresholdRule,
    default_rules,
    load_rules,
    parse_rules,
)
from lib.analysis import DEFAULT_THRESHOLDS


def test_the_defaults_are_the_status_tables_thresholds_and_the_anomaly_rule() -> None:
    rules = {r.name: r for r in default_rules().rules}
    cpu_warning, cpu_critical = DEFAULT_THRESHOLDS.resources["cpu"]
    assert isinstance(rules["CpuWarning"], ThresholdRule)
    assert rules["CpuWarning"].fire_for("web") == cpu_warning
    assert rules["CpuCritical"].fire_for("db") == cpu_critical  # type: ignore[union-attr]
    assert rules["CpuCritical"].recover_for("db") == cpu_critical - 5  # type: ignore[union-attr]
    latency = rules["LatencyCritical"]
    assert isinstance(latency, ThresholdRule)
    for role, (_, critical) in DEFAULT_THRESHOLDS.response.items():
        assert latency.fire_for(role) == critical
        assert latency.recover_for(role) == pytest.approx(critical * 0.9)
    assert isinstance(rules["Anomaly"], AnomalyRule)
    assert all(r.for_ == 60 for r in rules.values() if isinstance(r, ThresholdRule))


def test_a_file_replaces_the_rules_and_sets_the_timers(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("""
[settings]
group_wait = 0
repeat_interval = 600

[[rules]]
name = "MemoryAboveBaseline"
kind = "adaptive"
metric = "memory"
roles = ["db"]
""")
    rules = load_rules(path)
    assert rules.settings.group_wait == 0 and rules.settings.repeat_interval == 600
    (rule,) = rules.rules
    assert (rule.kind, rule.applies("db"), rule.applies("web")) == ("adaptive", True, False)
    assert rule.recover_at == 1.0  # type: ignore[union-attr]  # warning_z 1.5 − 0.5
    assert rules.needs_sigma_baseline


BAD = """[settings]
group_wait = -5

[[rules]]
name = "CpuHigh"
kind = "threshold"
metric = "cpu"
severity = "critical"
fire = 90
recover = 95

[[rules]]
name = "X"
kind = "adaptive"
metric = "bandwidth"

[[rules]]
name = "Y"
kind = "nope"
"""


def test_every_error_names_its_line_and_field() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(BAD, "rules.toml")
    assert caught.value.problems == [
        "rules.toml:2: settings.group_wait: Input should be greater than or equal to 0",
        "rules.toml:4: rules[0]: recover (95) must not exceed fire (90)",
        "rules.toml:15: rules[1].metric: Input should be 'cpu', 'memory', 'disk' or "
        "'response_time'",
        "rules.toml:17: rules[2]: Input tag 'nope' found using 'kind' does not match any of "
        "the expected tags: 'threshold', 'anomaly', 'adaptive'",
    ]


@pytest.mark.parametrize(("text", "problem"), [
    ('[[rules]]\nname="A"\nkind="anomaly"\n[[rules]]\nname="A"\nkind="anomaly"\n',
     "r.toml: file: rule name 'A' is used twice"),
    ("[[rules]\n", "r.toml: Expected ']]' at the end of an array declaration"),
    ("rules = []\n", "r.toml:1: rules: Tuple should have at least 1 item"),
    ('[[rules]]\nname="A"\nkind="adaptive"\nmetric="cpu"\nwarning_z=3\ncritical_z=2\n',
     "r.toml:1: rules[0]: critical_z must not be below warning_z"),
])
def test_other_mistakes(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(text, "r.toml")
    assert caught.value.problems[0].startswith(problem)


def test_an_unreadable_file_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")

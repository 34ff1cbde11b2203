"""Alert rules: static thresholds and adaptive ones from the analysis, with ``for``,
hysteresis and ``keep_firing_for``; the defaults, and a TOML file that overrides them.

    [settings]                 # grouping timers and routing (all optional)
    group_wait = 60
    repeat_interval = 43200

    [[rules]]
    name = "CpuHigh"
    kind = "threshold"         # value ≥ fire → active; firing until value < recover
    metric = "cpu"
    severity = "critical"
    fire = 90
    recover = 85
    for = 120                  # seconds active before it fires (pending until then)
    keep_firing_for = 0        # seconds it keeps firing after it recovers

    [[rules]]
    name = "Anomaly"
    kind = "anomaly"           # the analysis: the server is in an anomaly episode
    severity = "warning"       # critical when the deviation reaches critical_z

    [[rules]]
    name = "MemoryAboveBaseline"
    kind = "adaptive"          # the seeds' adaptive thresholds: baseline + k·σ
    metric = "memory"
    baseline = "sigma"         # mean/σ ("sigma"), or median/MAD ("robust")
    warning_z = 1.5
    critical_z = 2.5

A file replaces the shipped rules (``ALERT_RULES_FILE``); ``load_rules`` reports every error
as ``file:line: rules[i].field: message``. docs/alerts.md lists the defaults.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lib.analysis import DEFAULT_THRESHOLDS

__all__ = [
    "DEFAULT_ROUTING",
    "AdaptiveRule",
    "AnomalyRule",
    "RuleError",
    "RuleSet",
    "Routing",
    "ThresholdRule",
    "default_rules",
    "load_rules",
    "parse_rules",
]

Metric = Literal["cpu", "memory", "disk", "response_time"]
Role = Literal["web", "api", "db", "cache", "worker"]
Seconds = Annotated[int, Field(ge=0, le=7 * 86_400)]
Level = float | dict[Role, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Rule(_Model):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    roles: tuple[Role, ...] | None = None   # None: every role
    for_: Seconds = Field(0, alias="for")
    keep_firing_for: Seconds = 0

    def applies(self, role: str) -> bool:
        return self.roles is None or role in self.roles


class ThresholdRule(_Rule):
    """``metric ≥ fire`` makes it active; once firing it stays until ``metric < recover``
    (hysteresis). A level may be one number or one per role."""

    kind: Literal["threshold"] = "threshold"
    metric: Metric
    severity: Literal["warning", "critical"]
    fire: Level
    recover: Level | None = None   # default: 5 points under fire (10 % for response time)

    @model_validator(mode="after")
    def _recover_below_fire(self) -> ThresholdRule:
        for role in ("web", "api", "db", "cache", "worker"):
            fire, recover = self.fire_for(role), self.recover_for(role)
            if fire is not None and recover is not None and recover > fire:
                raise ValueError(f"recover ({recover:g}) must not exceed fire ({fire:g})")
        return self

    def fire_for(self, role: str) -> float | None:
        return _level(self.fire, role)

    def recover_for(self, role: str) -> float | None:
        if self.recover is not None:
            return _level(self.recover, role)
        fire = self.fire_for(role)
        if fire is None:
            return None
        return fire * 0.9 if self.metric == "response_time" else fire - 5.0


class AnomalyRule(_Rule):
    """Active while the analysis holds the server in an anomaly episode: from the detector's
    alarm until the server is back on the baseline it left (lib.analysis)."""

    kind: Literal["anomaly"] = "anomaly"
    severity: Literal["warning", "critical"] = "warning"
    critical_z: float = Field(8.0, gt=0)   # the episode's largest deviation, in z


class AdaptiveRule(_Rule):
    """``value ≥ baseline + warning_z·σ`` (warning) or ``+ critical_z·σ`` (critical), the
    baseline learned per server and metric by the analysis, as mean/σ (``sigma``, the
    seeds' 1.5σ/2.5σ) or median/MAD (``robust``)."""

    kind: Literal["adaptive"] = "adaptive"
    metric: Metric
    baseline: Literal["sigma", "robust"] = "sigma"
    warning_z: float = Field(1.5, gt=0)
    critical_z: float = Field(2.5, gt=0)
    recover_z: float | None = None         # default: warning_z − 0.5

    @model_validator(mode="after")
    def _ordered(self) -> AdaptiveRule:
        if self.critical_z < self.warning_z:
            raise ValueError("critical_z must not be below warning_z")
        if self.recover_z is not None and self.recover_z > self.warning_z:
            raise ValueError("recover_z must not exceed warning_z")
        return self

    @property
    def recover_at(self) -> float:
        return self.recover_z if self.recover_z is not None else self.warning_z - 0.5


Rule = Annotated[ThresholdRule | AnomalyRule | AdaptiveRule, Field(discriminator="kind")]


class Routing(_Model):
    """Grouping timers (Alertmanager's meaning, in seconds) and what notifies."""

    group_wait: Seconds = 60
    group_interval: Seconds = 300
    repeat_interval: Seconds = 43_200
    # A firing alert outside every incident notifies only at these severities, and only
    # when its value is this unusual for the server (robust z): a database at 96 % memory
    # every night is its normal, a disk at 91 % and climbing is not.
    standalone_severities: tuple[Literal["warning", "critical"], ...] = ("critical",)
    standalone_min_z: float = Field(3.0, ge=0)
    # ... and only once it has fired this long: a routine burst to a critical level lasts a
    # sample or two, a server stuck there does not go away.
    standalone_for: Seconds = 1200


DEFAULT_ROUTING = Routing()


class RuleSet(_Model):
    """The rules and the routing, validated together."""

    settings: Routing = DEFAULT_ROUTING
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self

    @property
    def needs_sigma_baseline(self) -> bool:
        return any(isinstance(r, AdaptiveRule) and r.baseline == "sigma" for r in self.rules)


def _level(level: Level, role: str) -> float | None:
    if isinstance(level, dict):
        return level.get(role)  # type: ignore[call-overload, no-any-return]
    return float(level)


def default_rules() -> RuleSet:
    """The shipped rules: the status table's thresholds (warning and critical per metric,
    response time per role, each after 60 s) and the analysis's anomaly rule."""
    levels: dict[str, tuple[object, object]] = dict(DEFAULT_THRESHOLDS.resources)
    response = DEFAULT_THRESHOLDS.response
    levels["response_time"] = ({r: w for r, (w, _) in response.items()},
                               {r: c for r, (_, c) in response.items()})
    names = {"cpu": "Cpu", "memory": "Memory", "disk": "Disk", "response_time": "Latency"}
    rules: list[dict[str, object]] = [
        {"kind": "threshold", "name": f"{names[metric]}{severity.capitalize()}",
         "metric": metric, "severity": severity, "fire": fire, "for": 60}
        for metric, (warning, critical) in levels.items()
        for severity, fire in (("warning", warning), ("critical", critical))
    ]
    rules.append({"kind": "anomaly", "name": "Anomaly"})
    return RuleSet.model_validate({"rules": rules})


class RuleError(ValueError):
    """A rules file that does not validate; ``problems`` are ``file:line: field: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def load_rules(path: str | Path) -> RuleSet:
    """The rules of a TOML file (RuleError naming each bad line and field)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError([f"{path}: cannot read: {exc.strerror}"]) from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError([f"{source}: {exc}"]) from exc
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        lines = text.splitlines()
        errors = _distinct_errors(exc.errors())
        raise RuleError([_problem(source, lines, err) for err in errors]) from exc


_UNION_TAGS = ("threshold", "anomaly", "adaptive", "float")


def _distinct_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One error per field: a union's branches (``fire`` is a number or a table) read as
    one, and a list's length is not reported beside its items' own errors."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for error in errors:
        loc = tuple(p for p in error["loc"]
                    if p not in _UNION_TAGS and not (isinstance(p, str) and "[" in p))
        message = str(error["msg"])
        if loc and loc[-1] in ("fire", "recover"):
            message = "must be a number, or a table of numbers per role"
        out.setdefault(loc, {"loc": loc, "msg": message})
    if any(len(loc) > 1 for loc in out):
        out.pop(("rules",), None)
    return list(out.values())


def _problem(source: str, lines: Sequence[str], error: Mapping[str, Any]) -> str:
    loc = list(error["loc"])
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else part)
    line = _line_of(lines, loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{source}:{line}: {where or 'file'}: {message}" if line else \
        f"{source}: {where or 'file'}: {message}"


def _line_of(lines: Sequence[str], loc: Sequence[Any]) -> int | None:
    """The line of the table (``[[rules]]`` number i, ``[settings]``) and key in ``loc``."""
    if not loc:
        return None
    start, end = 0, len(lines)
    if loc[0] == "rules" and len(loc) > 1 and isinstance(loc[1], int):
        headers = [i for i, text in enumerate(lines) if re.match(r"\s*\[\[rules\]\]", text)]
        if loc[1] >= len(headers):
            return None
        start = headers[loc[1]]
        later = [i for i, text in enumerate(lines) if i > start and re.match(r"\s*\[", text)]
        end = later[0] if later else len(lines)
        key = loc[2] if len(loc) > 2 else None
    elif loc[0] == "settings":
        found = [i for i, t in enumerate(lines) if re.match(r"\s*\[settings\]", t)]
        if not found:
            return None
        start, key = found[0], loc[1] if len(loc) > 1 else None
        later = [i for i, t in enumerate(lines) if i > start and re.match(r"\s*\[", t)]
        end = later[0] if later else len(lines)
    else:
        key = loc[0]
    if isinstance(key, str):
        name = "for" if key == "for_" else key
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(name)}\s*=", lines[i]):
                return i + 1
    return start + 1

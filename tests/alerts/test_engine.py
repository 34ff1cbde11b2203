"""The engine's step, tick by tick on hand-made inputs: ``for``, hysteresis and
``keep_firing_for``; one notification per incident naming its origin, followers inhibited;
group timers, silences, acknowledgement; and the same inputs giving the same outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from lib.alerts import Notification
from lib.alerts.engine import EngineState, IncidentView, ServerTick, TickInput, step
from lib.alerts.rules import RuleSet, parse_rules
from lib.alerts.silences import Matcher, Silence

T0 = 1_700_000_040  # a minute tick
MIN = 60

CPU_RULES = parse_rules("""
[settings]
group_wait = 60
group_interval = 300
repeat_interval = 3600
standalone_for = 0
[[rules]]
name = "CpuCritical"
kind = "threshold"
metric = "cpu"
severity = "critical"
fire = 90
recover = 80
for = 120
[[rules]]
name = "CpuWarning"
kind = "threshold"
metric = "cpu"
severity = "warning"
fire = 75
for = 0
""")


def server(sid: str, cpu: float | None, z: float = 5.0, role: str | None = None) -> ServerTick:
    return ServerTick(sid, role or sid.split("-")[0], {"cpu": cpu}, {"cpu": z})


class Run:
    """An engine driven one minute at a time, keeping what it said."""

    def __init__(self, rules: RuleSet = CPU_RULES) -> None:
        self.rules, self.state, self.at = rules, EngineState(), T0
        self.sent: list[Notification] = []
        self.states: list[dict[str, str]] = []

    def tick(self, servers: Sequence[ServerTick],
             incidents: Sequence[IncidentView] = ()) -> list[Notification]:
        result = step(self.state, TickInput(self.at, {s.server_id: s for s in servers},
                                            list(incidents)), self.rules)
        # the state goes through JSON between evaluations, as it does through the store
        self.state = EngineState.from_dict(json.loads(json.dumps(result.state.as_dict())))
        self.states.append({r["labels"]["alertname"] + "/" + r["labels"]["server_id"]:
                            r["state"] for r in self.state.alerts.values()})
        self.sent.extend(result.notifications)
        self.at += MIN
        return result.notifications


def states_of(run: Run, name: str) -> list[str]:
    return [s.get(name, "inactive") for s in run.states]


def test_for_hysteresis_and_resolution_of_a_threshold_rule() -> None:
    run = Run()
    for cpu in (95, 95, 95, 85, 85, 79, 50):
        run.tick([server("web-01", cpu)])
    # pending for 120 s, firing at the third minute; 85 is above recover (80): still firing
    assert states_of(run, "CpuCritical/web-01") == [
        "pending", "pending", "firing", "firing", "firing", "resolved", "resolved"]
    firing = [n for n in run.sent if n.status == "firing"]
    resolved = [n for n in run.sent if n.status == "resolved"]
    # a warning alone pages nobody (standalone_severities); the server's group has fired
    # since minute 0 (group_wait served), so the critical alert notifies as it fires at
    # minute 2; resolved the minute it recovers
    assert [(n.at - T0) // MIN for n in firing] == [2]
    assert [(n.at - T0) // MIN for n in resolved] == [6]  # CpuWarning holds until 50
    assert firing[0].servers == ("web-01",) and firing[0].origin == "web-01"


def test_keep_firing_for_holds_a_recovered_alert() -> None:
    rules = parse_rules("""
[settings]
group_wait = 0
standalone_for = 0
[[rules]]
name = "CpuCritical"
kind = "threshold"
metric = "cpu"
severity = "critical"
fire = 90
keep_firing_for = 180
""")
    run = Run(rules)
    for cpu in (95, 50, 95, 50, 50, 50, 50):
        run.tick([server("db-01", cpu)])
    # the dip at minute 1 is bridged: one alert, one notification, resolved 180 s after
    # the last active minute
    assert states_of(run, "CpuCritical/db-01") == [
        "firing", "firing", "firing", "firing", "firing", "firing", "resolved"]
    assert [(n.status, (n.at - T0) // MIN) for n in run.sent] == [("firing", 0),
                                                                  ("resolved", 6)]


def test_an_incident_is_one_notification_naming_its_origin() -> None:
    run = Run()
    incident = IncidentView(T0 - 600, "db-01", "cascade_failure",
                            ("db-01", "api-01", "web-01"), True)
    fleet = lambda cpu: [server("db-01", cpu), server("api-01", cpu),  # noqa: E731
                         server("web-01", cpu), server("web-02", 20)]
    for _ in range(4):
        run.tick(fleet(96), [incident])
    over = IncidentView(incident.start, "db-01", "cascade_failure", incident.servers, False)
    run.tick(fleet(30), [over])
    firing = [n for n in run.sent if n.status == "firing"]
    assert len(firing) == 1
    note = firing[0]
    assert (note.origin, note.pattern) == ("db-01", "cascade_failure")
    assert note.servers[0] == "db-01" and set(note.servers) == {"db-01", "api-01", "web-01"}
    assert note.starts_at == incident.start
    # followers are inhibited while their origin fires
    followers = [r for r in run.state.alerts.values()
                 if r["labels"]["server_id"] != "db-01" and r["state"] == "firing"]
    assert all(r["inhibited"] for r in followers)
    resolved = [n for n in run.sent if n.status == "resolved"]
    assert [n.group_key for n in resolved] == [note.group_key]
    assert resolved[0].at == T0 + 4 * MIN  # the minute the values recover


def test_a_silenced_alert_does_not_notify_and_the_rest_still_do() -> None:
    run = Run()
    run.state.silences = [Silence("s1", (Matcher("server_id", "web-01", False),),
                                  T0 - MIN, T0 + 3600, "ops", "maintenance", T0 - MIN)]
    for _ in range(5):
        run.tick([server("web-01", 96), server("web-02", 96)])
    assert {s for n in run.sent for s in n.servers} == {"web-02"}


def test_repeats_until_acknowledged_and_escalation_after_group_interval() -> None:
    run = Run()
    incident = [IncidentView(T0, "api-01", "memory_leak", ("api-01",), True)]
    for _ in range(3):
        run.tick([server("api-01", 80)], incident)           # warning only
    for _ in range(10):
        run.tick([server("api-01", 95)], incident)           # critical after its 120 s
    reasons = [(n.reason, n.severity) for n in run.sent]
    assert reasons == [("new", "warning"), ("escalated", "critical")]
    assert run.sent[1].at - run.sent[0].at >= 300  # group_interval
    assert run.sent[0].group_key == run.sent[1].group_key
    # an hour after the last notice it repeats; acknowledged, it does not
    for _ in range(60):
        run.tick([server("api-01", 95)], incident)
    assert [n.reason for n in run.sent].count("repeat") == 1
    key = run.sent[0].group_key
    run.state.groups[key]["ack"] = {"by": "ops", "at": run.at}
    before = len(run.sent)
    for _ in range(70):
        run.tick([server("api-01", 95)], incident)
    assert len(run.sent) == before


def test_a_standalone_alert_needs_an_unusual_value_to_notify() -> None:
    run = Run()
    for _ in range(5):
        # 96 % CPU, but usual for this server (z 1): the alert fires, nobody is paged
        run.tick([server("db-01", 96, z=1.0)])
    assert states_of(run, "CpuCritical/db-01")[-1] == "firing"
    assert run.sent == []


def test_a_standalone_alert_notifies_only_once_it_has_lasted_standalone_for() -> None:
    rules = CPU_RULES.model_copy(update={"settings": CPU_RULES.settings.model_copy(
        update={"standalone_for": 1200})})
    short, long = Run(rules), Run(rules)
    for k in range(40):
        short.tick([server("db-01", 96 if k < 8 else 30)])  # a burst of 8 minutes
        long.tick([server("db-01", 96)])
    assert short.sent == []
    (first,) = [n for n in long.sent if n.status == "firing"]
    # firing from minute 2 (for 120 s), notified once it has fired 1200 s
    assert (first.at - T0) // MIN == 2 + 20


def test_the_same_inputs_give_the_same_outputs() -> None:
    def drive() -> tuple[list[dict[str, object]], Mapping[str, object]]:
        run = Run()
        incident = IncidentView(T0, "db-01", "db_lock", ("db-01", "api-02"), True)
        for k in range(12):
            cpu = 96 if 2 <= k < 8 else 40
            run.tick([server("db-01", cpu), server("api-02", cpu), server("web-03", 77)],
                     [incident] if 2 <= k < 8 else [])
        return [n.as_dict() for n in run.sent], run.state.as_dict()

    first, second = drive(), drive()
    assert first == second
    assert first[0]  # it did say something

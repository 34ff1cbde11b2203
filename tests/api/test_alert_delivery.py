"""Alert notifications end to end: the engine each minute, the outbox, a real webhook receiver.

Every notification reaches the receiver once and in order; 10 concurrent evaluations of each
minute (separate store connections and cache clients over PostgreSQL and the Upstash shim in
front of Redis, as separate instances would have) still send each one once; a receiver that
is down, answers 500 or is too slow gets the notification later, and none is lost.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lib.alerts import channels_from_settings
from lib.app.alerts import evaluate
from lib.cache import MemoryCache
from lib.cache.upstash import UpstashCache
from lib.collectors import DummyCollector
from lib.core import Settings, parse_instant
from lib.sim import Simulator, get_fleet
from lib.store import MetricStore
from lib.store.postgres import PostgresStore
from lib.web import deps
from tests.apiclient import SEED, Api, eager_rules
from tests.services.processes import free_port
from tests.services.receiver import Receiver
from tests.services.upstash_shim import UpstashShim

TOKEN = "alerts-s3cret"
# SEED's Jan 2 early morning: with eager_rules, servers of their own notify and resolve
# (web-05 from 04:01, web-02 from 04:40), api-05 and api-06 fire from 04:41.
WINDOW = (parse_instant("2024-01-02T03:58:00Z", "t"), parse_instant("2024-01-02T05:02:00Z", "t"))
BUSY = (parse_instant("2024-01-02T04:36:00Z", "t"), parse_instant("2024-01-02T05:08:00Z", "t"))


def minutes(start: int, end: int) -> list[int]:
    return [t + 7 for t in range(start, end, 60)]


@pytest.fixture
def hooked(api: Api, receiver: Receiver) -> Api:
    """The API with an alerts token and a webhook to the local receiver."""
    api.use(settings=api.settings.model_copy(update={
        "alerts_token": TOKEN, "alert_webhook_url": receiver.url + "/hook",
        "alert_timeout_seconds": 1.0}))
    api.app.dependency_overrides[deps.provide_rules] = eager_rules
    return api


def evaluate_minutes(api: Api, instants: list[int]) -> list[dict[str, Any]]:
    out = []
    for now in instants:
        api.app.dependency_overrides[deps.provide_now] = lambda now=now: now
        response = api.client.post("/api/alerts/evaluate",
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        out.append(response.json())
    return out


def hooks(receiver: Receiver) -> list[dict[str, Any]]:
    return [{"key": r.headers["idempotency-key"], **r.json()} for r in receiver.on("/hook")]


def assert_once_and_in_order(received: list[dict[str, Any]]) -> None:
    keys = [r["key"] for r in received]
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)
    by_group: dict[str, list[int]] = {}
    for r in received:
        group, seq = r["key"].rsplit(":", 1)
        assert r["groupKey"] == group
        by_group.setdefault(group, []).append(int(seq))
    for group, seqs in by_group.items():
        assert seqs == sorted(seqs), group       # a group's messages arrive in order
        assert seqs[0] == 1, group               # and none is missing at the start


def test_every_notification_reaches_the_webhook_once_and_in_order(
    hooked: Api, receiver: Receiver
) -> None:
    results = evaluate_minutes(hooked, minutes(*WINDOW))
    assert all(r["evaluated"] for r in results)
    received = hooks(receiver)
    assert sum(r["notifications"]["sent"] for r in results) == len(received) >= 4
    assert_once_and_in_order(received)
    statuses = {r["groupKey"]: [] for r in received}
    for r in received:
        statuses[r["groupKey"]].append(r["status"])
    assert ["firing", "resolved"] in statuses.values()  # fired and resolved in the window
    assert received[0]["version"] == "4" and received[0]["alerts"]
    assert all(s[-1] == "resolved" for g, s in statuses.items() if "resolved" in s)
    # what was sent is what the API lists as notified
    groups = {g["group_key"]: g for g in hooked.client.get("/api/alerts").json()["groups"]}
    assert {r["groupKey"] for r in received} <= set(groups)


def test_ten_concurrent_evaluations_of_each_minute_send_each_notification_once(
    clean_postgres_dsn: str, upstash: UpstashShim, receiver: Receiver
) -> None:
    settings = Settings(metrics_seed=SEED, alert_webhook_url=receiver.url + "/hook",
                        alert_timeout_seconds=2.0)
    collector = DummyCollector(Simulator(SEED, get_fleet()))
    rules = eager_rules()
    instances = [(PostgresStore(clean_postgres_dsn),
                  UpstashCache(upstash.url, upstash.token, timeout=2.0), MemoryCache(),
                  channels_from_settings(settings)) for _ in range(10)]
    start, end = BUSY
    try:
        with ThreadPoolExecutor(10) as pool:
            for now in minutes(start, end):
                runs = list(pool.map(
                    lambda i, now=now: evaluate(i[0], collector, i[2], i[1], now, rules, i[3]),
                    instances))
                assert sum(r.payload["evaluated"] for r in runs) <= 1
    finally:
        for store, cache, _, _ in instances:
            store.close()
            cache.close()
    received = hooks(receiver)
    assert len(received) >= 3
    assert_once_and_in_order(received)
    check = PostgresStore(clean_postgres_dsn)
    try:
        assert check.pending_notifications(100, 100) == []   # everything delivered
        state = check.load_alert_state()
        assert state is not None and state[1]["last_tick"] == end - 60
    finally:
        check.close()


def outbox(store: MetricStore) -> list[Any]:
    return store.pending_notifications(1000, 1000)


@pytest.mark.parametrize("fault", ["down", "500", "slow"])
def test_a_failing_receiver_gets_every_notification_later(
    hooked: Api, receiver: Receiver, fault: str
) -> None:
    instants = minutes(*WINDOW)
    first, rest = instants[:6], instants[6:]    # the 04:01 notifications fall in the first part
    if fault == "down":
        hooked.use(settings=hooked.settings.model_copy(update={
            "alert_webhook_url": f"http://127.0.0.1:{free_port()}/hook"}))
    elif fault == "500":
        receiver.respond(500, "boom")
    else:
        # longer than the 1-s timeout: the receiver does get each attempt (a timed-out
        # request is ambiguous), and the retry carries the same Idempotency-Key
        receiver.respond(200, "ok", delay=1.5)
    results = evaluate_minutes(hooked, first)
    failed = sum(r["notifications"]["failed"] for r in results)
    assert failed >= 1 and sum(r["notifications"]["sent"] for r in results) == 0
    pending = outbox(hooked.store)
    tried = [p for p in pending if p.attempts]   # the rest wait behind them, in order
    assert tried and all(p.last_error for p in tried)
    assert all("/hook" not in (p.last_error or "") for p in pending)   # no URL path leaked
    # the receiver comes back
    receiver.reset()
    hooked.use(settings=hooked.settings.model_copy(update={
        "alert_webhook_url": receiver.url + "/hook"}))
    evaluate_minutes(hooked, rest)
    assert outbox(hooked.store) == []
    received = hooks(receiver)
    assert_once_and_in_order(received)
    assert {p.key for p in pending} <= {r["key"] for r in received}

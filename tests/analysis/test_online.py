"""Online detection (one tick in, anomalies out) gives exactly what the batch form gives."""

from __future__ import annotations

from collections import defaultdict

from lib.analysis import BaselineConfig, DetectorConfig, OnlineDetector, Panel, anomalies_at, detect

from .synthetic import DAY, Fleet


def _fleet() -> Fleet:
    fleet = Fleet(600, 2.5, servers=["api-01", "db-01", "web-01", "web-02"])
    at = fleet.at(DAY + 20 * 3600)
    fleet.cpu[at:at + 8, fleet.col("db-01")] += 40.0
    fleet.connections[at + 1:at + 6, fleet.col("web-01")] *= 1.8
    fleet.response_time[at + 1:at + 6, fleet.col("web-01")] *= 3.0
    return fleet


def test_ticks_fed_one_by_one_match_the_batch_detector() -> None:
    config = DetectorConfig(baseline=BaselineConfig(profile_days=1, scale_days=1), tail_days=1)
    fleet = _fleet()
    rows = fleet.rows(offline={"web-02": (200, 230)})
    by_tick = defaultdict(list)
    for row in rows:
        by_tick[row.timestamp].append(row)
    panel = Panel.from_rows(rows)
    batch = detect(panel, config)
    online = OnlineDetector(panel.server_ids, 600, config)
    seen = 0
    for i, ts in enumerate(panel.timestamps.tolist()):
        got = online.update(ts, by_tick[ts])
        assert got == anomalies_at(batch, i), f"tick {i}"
        seen += len(got)
    assert seen > 0  # the injected anomalies came out on both sides


def test_a_missing_tick_counts_as_every_server_offline() -> None:
    config = DetectorConfig(baseline=BaselineConfig(profile_days=1, scale_days=1), tail_days=1)
    fleet = _fleet()
    rows = fleet.rows()
    gap = set(fleet.timestamps[100:103].tolist())
    by_tick = defaultdict(list)
    for row in rows:
        if row.timestamp not in gap:
            by_tick[row.timestamp].append(row)
    batch = detect(Panel.from_rows([r for r in rows if r.timestamp not in gap], 600), config)
    online = OnlineDetector(fleet.servers, 600, config)
    for i, ts in enumerate(fleet.timestamps.tolist()[:160]):
        if ts in gap:
            continue
        assert online.update(ts, by_tick[ts]) == anomalies_at(batch, i)

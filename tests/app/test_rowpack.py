"""Packed days of rows: exact where it matters, and the alert view reads them instead of
the store once a day is cached."""

from __future__ import annotations

import pytest

from lib.app.alerts import _Backends, tick_input
from lib.app.rowpack import pack_rows, unpack_rows
from lib.cache import MemoryCache
from lib.core import DAY
from lib.sim import DEFAULT_STEP
from tests.apiclient import DAY0, NOW, Api


def test_a_day_round_trips_within_float32(api: Api) -> None:
    ids = [t.id for t in api.collector.servers()]
    rows = api.collector.window(DAY0, DAY0 + DAY, DEFAULT_STEP, ids)
    text = pack_rows(rows)
    back = unpack_rows(text)
    assert len(back) == len(rows) == 144 * len(ids)
    for a, b in zip(sorted(rows), back, strict=True):
        assert (a.timestamp, a.server_id, a.status) == (b.timestamp, b.server_id, b.status)
        assert (a.response_time, a.connections) == (b.response_time, b.connections)
        for x, y in zip(a[2:9], b[2:9], strict=True):
            assert x == pytest.approx(y, rel=1e-6)
    assert len(text) < len(str([r.as_dict() for r in rows])) / 6  # the point of it


def test_a_missing_response_time_stays_missing() -> None:
    from lib.core import MetricRow
    rows = [MetricRow(60, "db-01", 1.5, 2.5, 3.5, None, 4.0, 5.0, 6, "critical")]
    assert unpack_rows(pack_rows(rows)) == rows


@pytest.mark.parametrize("text", ["", "not base64!", "eJwDAAAAAAE="])
def test_a_damaged_pack_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        unpack_rows(text)


def test_the_alert_view_caches_past_days_and_agrees_with_the_store(api: Api) -> None:
    tick = NOW - NOW % 60
    warm = MemoryCache()
    fresh = tick_input(_Backends(api.store, api.collector, MemoryCache(), warm), tick)
    days = [k for k in warm._entries if k.startswith("alerts:day:")]
    # a week of history and the lookback reach back 8 calendar days, and today's rows that
    # have settled (older than an hour) are kept too
    assert len(days) == 9
    today = warm.get(days[-1])
    assert today is not None
    base = tick - tick % DEFAULT_STEP
    assert int(today.split(":")[0]) == base - 3600
    assert max(r.timestamp for r in unpack_rows(today.split(":", 1)[1])) == base - 3600 - 600
    # another instance: the view comes from the packed days, not the store's rows
    for key in [k for k in warm._entries if k.startswith("alerts:view:")]:
        warm.delete(key)
    cached = tick_input(_Backends(api.store, api.collector, MemoryCache(), warm), tick)
    assert cached.incidents == fresh.incidents
    assert cached.servers.keys() == fresh.servers.keys()
    for sid, server in fresh.servers.items():
        assert cached.servers[sid].values == server.values
        for metric, z in server.z.items():
            assert cached.servers[sid].z[metric] == pytest.approx(z, rel=1e-4, abs=1e-4)
    # a damaged day is read afresh, not trusted
    warm.set(days[0], "1703462400:garbage", DAY)
    for key in [k for k in warm._entries if k.startswith("alerts:view:")]:
        warm.delete(key)
    again = tick_input(_Backends(api.store, api.collector, MemoryCache(), warm), tick)
    assert again.incidents == fresh.incidents

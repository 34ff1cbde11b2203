"""The values' contract: exact patterns (month lengths, leap years, offsets), cursors,
lists — what the OpenAPI document says is exactly what is accepted."""

from __future__ import annotations

import re

import pytest

from lib.app.params import (
    CURSOR_PATTERN,
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    MAX_SERVER_IDS,
    decode_cursor,
    echo,
    encode_cursor,
    parse_date,
    parse_instant,
    split_values,
)
from lib.core import MAX_INSTANT, MIN_INSTANT, InvalidParameter


@pytest.mark.parametrize(("text", "epoch"), [
    ("2024-01-01T00:00:00Z", 1_704_067_200),
    ("2024-01-01T09:00:00+09:00", 1_704_067_200),
    ("2024-01-01T00:00:00.999999999Z", 1_704_067_200),  # fractions are truncated
    ("2024-01-01", 1_704_067_200),
    ("2024-02-29", 1_709_164_800),
    ("2000-02-29T12:00:00-00:30", 951_827_400),
])
def test_accepted_instants(text: str, epoch: int) -> None:
    assert re.match(DATE_TIME_PATTERN, text) or re.match(DATE_PATTERN, text)
    assert parse_instant(text, "at") == epoch


def test_the_parser_accepts_exactly_what_the_published_patterns_describe() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.from_regex(DATE_TIME_PATTERN, fullmatch=True) | st.from_regex(DATE_PATTERN,
                                                                          fullmatch=True))
    def valid(text: str) -> None:
        parse_instant(text, "at")

    valid()


@pytest.mark.parametrize("text", [
    "2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-13-01", "1899-12-31",
    "2200-01-01", "2024-01-01T00:00:00", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z",
    "2024-01-01 00:00:00Z", "2024-01-01t00:00:00z", " 2024-01-01", "٢٠٢٤-01-01", "",
])
def test_refused_instants_match_neither_pattern(text: str) -> None:
    assert not re.match(DATE_TIME_PATTERN, text) and not re.match(DATE_PATTERN, text)
    with pytest.raises(InvalidParameter):
        parse_instant(text, "at")


def test_offsets_at_the_edges_are_clamped_to_the_supported_range() -> None:
    assert parse_instant("1900-01-01T00:00:00+05:00", "at") == MIN_INSTANT
    assert parse_instant("2199-12-31T23:59:59-05:00", "at") == MAX_INSTANT - 1


def test_dates_only_with_their_own_parameter() -> None:
    assert parse_date("2024-01-02", "date") == 1_704_153_600
    with pytest.raises(InvalidParameter, match="YYYY-MM-DD"):
        parse_date("2024-01-02T00:00:00Z", "date")


def test_cursor_round_trip_and_pattern() -> None:
    cursor = encode_cursor(1_704_067_800, "db-eu-002")
    assert cursor == "2024-01-01T00:10:00Z~db-eu-002" and re.match(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == (1_704_067_800, "db-eu-002")
    for bad in ("1704067800~web-01", "2024-01-01T00:10:00.5Z~web-01",
                "2024-01-01T00:10:00+09:00~web-01", "2024-01-01T00:10:00Z~"):
        with pytest.raises(InvalidParameter):
            decode_cursor(bad)


def test_lists_split_dedupe_and_cap_in_one_pass() -> None:
    assert split_values(["a,b", "a", "c"], "server_id", 10) == ["a", "b", "c"]
    assert split_values(None, "server_id", 10) == []
    with pytest.raises(InvalidParameter, match="at most 100 values"):
        split_values([",".join(["x"] * (MAX_SERVER_IDS + 1))], "server_id", MAX_SERVER_IDS)
    for bad in ([""], ["a,,b"], ["a,"]):
        with pytest.raises(InvalidParameter, match="empty item"):
            split_values(bad, "status", 3)


def test_echo_cuts_long_values() -> None:
    assert echo("short") == "'short'"
    assert echo("x" * 1000) == repr("x" * 64) + "… (1000 characters)"

"""Checks shared by the layers: http(s) URLs, choosing servers by id, windows on the grid."""

from __future__ import annotations

import pytest

from lib.core import (
    InvalidParameter,
    UnknownServer,
    check_window,
    count_ticks,
    http_url_problem,
    pick_servers,
)


@pytest.mark.parametrize("url", ["https://x.upstash.io", "http://127.0.0.1:9090/prom"])
def test_http_urls_pass(url: str) -> None:
    assert http_url_problem(url) is None


@pytest.mark.parametrize("url", ["ftp://x", "x.upstash.io", "https://", "", "tok3n-secret"])
def test_other_urls_are_refused_without_repeating_the_value(url: str) -> None:
    problem = http_url_problem(url)
    assert problem == "must be an http:// or https:// URL"
    assert http_url_problem(url, "https://e.example") == \
        "must be an http(s) URL such as https://e.example"


def test_pick_servers_sorts_dedupes_and_names_the_first_unknown() -> None:
    known = {"web-02": 2, "web-01": 1, "db-01": 0}
    assert pick_servers(None, known) == [0, 1, 2]
    assert pick_servers(["web-02", "web-01", "web-02"], known) == [1, 2]
    with pytest.raises(UnknownServer) as caught:
        pick_servers(["zz-9", "aa-9", "web-01"], known)
    assert caught.value.server_id == "aa-9" and caught.value.parameter == "server_id"


def test_windows_on_the_global_grid() -> None:
    assert check_window(601, 1800, 600) == 1200
    assert count_ticks(601, 1800, 600) == 1 and count_ticks(600, 1800, 600) == 2
    assert count_ticks(1800, 1800, 600) == 0
    with pytest.raises(InvalidParameter, match="step"):
        check_window(0, 10, 29)
    with pytest.raises(InvalidParameter, match="end"):
        check_window(10, 0, 30)
    assert check_window(0, 10, 1, min_step=1) == 0

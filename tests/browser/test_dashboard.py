"""The dashboard in a real Chromium (Debian's, driven by Playwright) against
``python -m lib serve``: a clean load whose tiles match the API, charts equal to the API's
window, no requests while hidden, 304s for unchanged polls, the degraded banner and the
recovery, one browser notification per new critical group after opting in, an axe-core scan,
no horizontal scroll at 390 px, and screenshots of every view in artifacts/screenshots."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lib.core import format_iso
from tests.browser.hooks import NOTIFICATION, VISIBILITY
from tests.services.prometheus import running_local_api

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = ROOT / "artifacts" / "screenshots"
VIEWS = ["fleet", "server&server=db-01&window=6h", "incidents", "alerts", "ask"]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("chromium is missing: scripts/install-services.sh installs it")
    pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_local_api({"METRICS_SEED": "7", "ALERTS_ON_POLL": "false"}) as address:
        yield f"http://{address}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_init_script(VISIBILITY)
    context.add_init_script(NOTIFICATION)
    tab = context.new_page()
    yield tab
    context.close()


def ready(page: Page, base: str, view: str = "fleet") -> None:
    page.goto(f"{base}/?view={view}")
    page.wait_for_function("window.__dash && window.__dash.state.servers.length === 20")


def test_the_fleet_loads_clean_and_every_tile_matches_the_api(page: Page, base: str) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    ready(page, base)
    page.wait_for_function("document.querySelectorAll('#grid .tile').length === 20")
    tick = page.evaluate("window.__dash.state.timestamp")
    api = httpx.get(f"{base}/api/monitoring/servers", params={"at": tick}, timeout=30).json()
    tiles = page.eval_on_selector_all("#grid .tile", """els => els.map(e => ({
        id: e.dataset.server, status: e.className.replace('tile s-', ''),
        label: e.querySelector('.st').textContent, cpu: e.querySelector('[data-cpu]').textContent,
        memory: e.querySelector('[data-memory]').textContent}))""")
    assert [t["id"] for t in tiles] == [s["id"] for s in api["servers"]]
    for tile, server in zip(tiles, api["servers"], strict=True):
        assert tile["status"] == server["status"] == tile["label"]  # in text, not colour alone
        # one decimal, as the browser rounds it
        assert abs(float(tile["cpu"].rstrip("%")) - server["cpu"]["usage"]) <= 0.05
        assert abs(float(tile["memory"].rstrip("%")) - server["memory"]["usage"]) <= 0.05
    summary = page.inner_text("#summary")
    assert summary.startswith(f"20 servers: {api['summary']['healthy']} healthy")
    assert page.inner_text("#source") in ("generator", "cache")
    page.wait_for_timeout(500)
    assert problems == []


def test_a_servers_charts_hold_the_apis_values(page: Page, base: str) -> None:
    ready(page, base, "server&server=db-01&window=6h")
    page.wait_for_function("(window.__dash.state.chartData.x || []).length > 0")
    data = page.evaluate("window.__dash.state.chartData")
    step = data["x"][1] - data["x"][0]
    assert step == 300
    start, end = data["x"][0], data["x"][-1] + step
    api = httpx.get(f"{base}/api/monitoring/performance", timeout=30, params={
        "serverId": "db-01", "from": format_iso(start), "to": format_iso(end),
        "step": step}).json()
    points = api["metrics"]
    assert data["cpu"] == [p["cpu"] for p in points]
    assert data["memory"] == [p["memory"] for p in points]
    assert data["responseTime"] == [p["responseTime"] for p in points]
    assert data["network"] == pytest.approx([p["network"]["rx"] + p["network"]["tx"]
                                             for p in points])
    assert page.locator("#charts figure.chart").count() == 5
    assert "view=server" in page.url and "server=db-01" in page.url and "window=6h" in page.url


def test_a_hidden_tab_makes_no_request_and_polls_at_once_on_return(page: Page, base: str
                                                                   ) -> None:
    page.clock.install()
    ready(page, base)
    page.wait_for_timeout(1500)  # the first loads (history, health, alerts) settle
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.evaluate("window.__setHidden(true)")
    page.clock.run_for("10:00")                       # ten simulated minutes
    page.wait_for_timeout(300)
    assert seen == []
    page.evaluate("window.__setHidden(false)")
    page.wait_for_timeout(800)
    polls = [u for u in seen if "/api/monitoring/servers" in u]
    assert len(polls) == 1


def test_unchanged_polls_within_a_tick_cost_a_304(page: Page, base: str) -> None:
    ready(page, base)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status)
            if "/api/monitoring/servers" in r.url else None)
    page.evaluate("async () => { for (let i = 0; i < 10; i++) await window.__dash.poll(); }")
    assert len(statuses) == 10
    assert statuses.count(304) >= 9, statuses   # a tick boundary may fall inside the loop


def test_the_api_down_shows_the_banner_keeps_the_data_and_recovers(page: Page, base: str
                                                                    ) -> None:
    ready(page, base)
    before = page.inner_text("#grid")
    page.route("**/api/monitoring/servers", lambda route: route.abort("connectionrefused"))
    page.evaluate("window.__dash.poll()")
    page.wait_for_selector("#banner:not([hidden])")
    assert "unreachable" in page.inner_text("#banner")
    assert page.inner_text("#grid") == before                     # the last data stays
    assert page.evaluate("document.body.classList.contains('stale')")
    page.unroute("**/api/monitoring/servers")
    page.evaluate("window.__dash.poll()")
    page.wait_for_selector("#banner", state="hidden")
    assert not page.evaluate("document.body.classList.contains('stale')")


def alerts_payload(*keys: str) -> dict[str, Any]:
    return {"evaluated_at": None, "alerts": [], "count": 0, "next_cursor": None, "groups": [
        {"group_key": k, "status": "firing", "origin": "db-01", "pattern": "db_lock",
         "severity": "critical", "servers": ["db-01", "api-01"],
         "starts_at": "2024-01-02T10:00:00Z", "ends_at": None, "acknowledged": None,
         "silenced": False, "merged_into": None} for k in keys]}


def test_one_notification_per_new_critical_group_and_none_before_opting_in(
    page: Page, base: str
) -> None:
    import json

    payload = {"body": alerts_payload("inc-a")}
    page.route("**/api/alerts", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(payload["body"])))
    ready(page, base)
    page.evaluate("window.__dash.checkAlerts()")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__notes") == []                   # not opted in
    page.click("#notify")
    page.wait_for_function("window.__dash.state.optedIn")
    payload["body"] = alerts_payload("inc-a", "inc-b")
    for _ in range(3):
        page.evaluate("window.__dash.checkAlerts()")
        page.wait_for_timeout(200)
    notes = page.evaluate("window.__notes")
    assert [n["tag"] for n in notes] == ["inc-b"]                   # once, the new one


def test_no_serious_accessibility_violations_and_no_horizontal_scroll(
    browser: Browser, base: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", {"width": 1280, "height": 900}),
                           ("mobile", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport, locale="en-GB")
        tab = context.new_page()
        for view in VIEWS:
            ready(tab, base, view)
            tab.wait_for_timeout(1500)
            tab.screenshot(path=str(SHOTS / f"{name}-{view.split('&')[0]}.png"))
            if name == "mobile":
                width = tab.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (view, width)
            else:
                tab.add_script_tag(path=str(AXE))
                result = tab.evaluate("axe.run().then(r => r.violations.map(v => "
                                      "({id: v.id, impact: v.impact})))")
                bad = [v for v in result if v["impact"] in ("serious", "critical")]
                assert bad == [], (view, bad)
        context.close()


def test_korean_text_is_a_click_away(page: Page, base: str) -> None:
    ready(page, base)
    page.click("#lang")
    assert page.inner_text("[data-view=fleet]") == "플릿"
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.wait_for_function("document.querySelector('#grid .st') !== null")
    assert page.inner_text("#grid .tile .st") in ("정상", "경고", "위험", "오프라인")


def test_the_ground_truth_toggle_shades_the_injected_incidents(page: Page, base: str) -> None:
    week = httpx.get(f"{base}/api/analysis/truth", timeout=30, params={
        "from": format_iso(int(time.time()) - 6 * 86_400)}).json()
    hit = next(i for i in week["incidents"] if i["affected"])
    server = hit["affected"][0]["server_id"]
    ready(page, base, f"server&server={server}&window=7d&truth=1")
    page.wait_for_function("(window.__dash.state.shades || null) !== null")
    blue = page.evaluate("window.__dash.state.shades.filter(s => s[2].includes('29,78,216'))"
                         ".length")
    assert blue >= 1
    assert page.is_checked("#truth-pick")
    assert "injected" in page.inner_text("#server-meta")
    page.uncheck("#truth-pick")
    page.wait_for_function("!location.search.includes('truth=1')")


def test_a_question_is_answered_in_the_page(page: Page, base: str) -> None:
    ready(page, base, "ask")
    page.fill("#question", "어떤 서버가 위험해?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_function("document.getElementById('answer').textContent.length > 5")
    shown = page.inner_text("#answer")
    api = httpx.get(f"{base}/api/ask", params={"q": "어떤 서버가 위험해?"}, timeout=30).json()
    assert shown == api["answer"]

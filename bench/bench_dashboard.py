"""The dashboard in Chromium: render and tick costs, requests while hidden, bytes per poll,
and what the page ships.

    .venv/bin/python bench/bench_dashboard.py [--runs 5]

Against ``python -m lib serve`` on a free port (Debian's Chromium through Playwright):

* first render — 30 servers × 8 metrics × 144 points: the fleet grid of 30 tiles with their
  144-point sparklines, then 8 uPlot charts of 30 series × 144 points (the page's own code,
  ``window.__dash``), median of --runs;
* one live tick applied to the 30-server grid;
* requests while the tab is hidden for 10 simulated minutes (``page.clock``);
* bytes of an unchanged poll (a 304: status line and headers) and of a changed one (gzip);
* JS + CSS shipped (raw and gzip; uPlot is minified, the page's own files are not).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(ROOT))

import httpx
from playwright.sync_api import sync_playwright

from tests.browser.hooks import VISIBILITY
from tests.services.prometheus import running_local_api

SHIPPED = ["public/app.js", "public/style.css", "public/vendor/uPlot.iife.min.js",
           "public/vendor/uPlot.min.css"]

RENDER = """(n) => {
  const d = window.__dash, now = Date.now();
  const ids = Array.from({length: 30}, (_, i) => `srv-${String(i + 1).padStart(2, "0")}`);
  const tick = (k) => ({timestamp: new Date(now + k * 30000).toISOString(),
    summary: {total: 30, healthy: 30, warning: 0, critical: 0, offline: 0},
    servers: ids.map((id, i) => ({id, role: "web", status: "healthy",
      cpu: {usage: 40 + (i + k) % 20}, memory: {usage: 50 + (i * k) % 30},
      disk: {usage: 30}, network: {rx: 100, tx: 200}, responseTime: 100 + i}))});
  d.state.history = {};
  for (const id of ids) d.state.history[id] = {t: [], cpu: [], memory: [], rt: []};
  for (let k = 0; k < 144; k++) for (const id of ids) {
    const h = d.state.history[id]; h.t.push(k); h.cpu.push(Math.random() * 100);
    h.memory.push(Math.random() * 100); h.rt.push(Math.random() * 500); }
  d.state.view = "fleet";
  const t0 = performance.now();
  d.applyTick(tick(0));
  const grid = performance.now() - t0;
  const host = document.getElementById("charts");
  document.getElementById("view-server").hidden = false;
  host.innerHTML = "";
  const x = Array.from({length: 144}, (_, i) => 1700000000 + i * 600);
  const t1 = performance.now();
  const charts = [];
  for (let m = 0; m < 8; m++) {
    const box = document.createElement("div"); host.appendChild(box);
    const data = [x, ...ids.map(() => x.map(() => Math.random() * 100))];
    charts.push(new uPlot({width: 600, height: 180,
      series: [{}, ...ids.map((id) => ({label: id, stroke: "#1d4ed8"}))]}, data, box));
  }
  const plots = performance.now() - t1;
  for (const c of charts) c.destroy();
  const t2 = performance.now();
  d.applyTick(tick(1));
  const live = performance.now() - t2;
  return {grid, plots, live};
}"""

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with running_local_api({"METRICS_SEED": "7", "ALERTS_ON_POLL": "false"}) as address, \
            sync_playwright() as p:
        base = f"http://{address}"
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        runs = []
        for _ in range(args.runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/?view=fleet")
            page.wait_for_function("window.__dash && window.__dash.state.servers.length")
            runs.append(page.evaluate(RENDER))
            page.close()
        context = browser.new_context()
        context.add_init_script(VISIBILITY)
        page = context.new_page()
        page.clock.install()
        page.goto(f"{base}/?view=fleet")
        page.wait_for_function("window.__dash && window.__dash.state.servers.length")
        page.wait_for_timeout(1500)
        hidden: list[str] = []
        page.on("request", lambda r: hidden.append(r.url))
        page.evaluate("window.__setHidden(true)")
        page.clock.run_for("10:00")
        page.wait_for_timeout(300)
        browser.close()
        with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as client:
            changed = client.get("/api/monitoring/servers")
            etag = changed.headers["etag"]
            unchanged = client.get("/api/monitoring/servers", headers={"If-None-Match": etag})
    grid = statistics.median(r["grid"] for r in runs)
    plots = statistics.median(r["plots"] for r in runs)
    live = statistics.median(r["live"] for r in runs)
    head = len(f"HTTP/1.1 {unchanged.status_code} Not Modified\r\n") + sum(
        len(k) + len(v) + 4 for k, v in unchanged.headers.items()) + 2
    body = changed.num_bytes_downloaded
    raw = {f: (ROOT / f).read_bytes() for f in SHIPPED}
    total, zipped = sum(map(len, raw.values())), sum(len(gzip.compress(b)) for b in raw.values())
    rows = [
        ("first render, 30 servers × 8 metrics × 144 points", f"{grid + plots:.1f} ms "
         f"(grid {grid:.1f} + 8 charts {plots:.1f})", "≤ 150 ms", grid + plots <= 150),
        ("applying one live tick (30 tiles)", f"{live:.1f} ms", "≤ 16 ms", live <= 16),
        ("requests while hidden, 10 simulated minutes", str(len(hidden)), "0", not hidden),
        ("bytes per unchanged poll (304, headers)", f"{head:,} B "
         f"(status {unchanged.status_code})", "≤ 1 KB", head <= 1024
         and unchanged.status_code == 304),
        ("bytes per changed poll (gzip body)", f"{body:,} B", "≤ 5 KB", body <= 5 * 1024),
        ("JS + CSS shipped", f"{total / 1024:.1f} KB raw, {zipped / 1024:.1f} KB gzip",
         "≤ 120 KB minified", total <= 120 * 1024),
    ]
    print(f"median of {args.runs} runs in Chromium\n")
    print("| measure | value | goal | |\n|---|---|---|---|")
    for name, value, goal, met in rows:
        print(f"| {name} | {value} | {goal} | {'met' if met else 'NOT MET'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

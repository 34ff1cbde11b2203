/* The fleet dashboard: static, no build step. Polls /api/monitoring/servers on the 30-s tick
   grid only while the tab is visible, with If-None-Match; other views read the analysis,
   alerts and ask endpoints. window.__dash exposes its state to the browser tests. */
(() => {
  "use strict";
  const TICK = 30000, MAX_BACKOFF = 300000, HEALTH_EVERY = 600000, ALERTS_EVERY = 60000;
  const T = {
    en: {title: "Fleet monitor", nav_fleet: "Fleet", nav_server: "Server", nav_incidents: "Incidents",
      nav_alerts: "Alerts", nav_ask: "Ask", source: "source", age: "data age", server: "Server",
      window: "Window", token: "Alerts token (kept in this tab only)", save: "Save",
      question: "Question", ask: "Ask", notify_on: "Critical alerts: notify me",
      notify_active: "Notifying critical alerts", incidents_help: "Detected in the last day, newest first.",
      healthy: "healthy", warning: "warning", critical: "critical", offline: "offline",
      health: "health", cpu: "CPU", memory: "Memory", disk: "Disk", latency: "Latency",
      network: "Network", down: "The API is unreachable — showing the last data, from",
      degraded: "The API is degraded — showing the last data, from", not_available: "Not available on this deployment.",
      none: "Nothing detected.", origin: "origin", pattern: "pattern", affected: "affected",
      ack: "Acknowledge", silence: "Silence 1 h", need_token: "Enter the alerts token first.",
      groups: "Groups", alerts: "Alerts", truth_toggle: "Ground truth (for training detectors)",
      detected: "detected incidents (red)", injected: "injected incidents (blue)",
      servers: "servers", thinking: "…", severity: "Severity", status: "Status", since: "Since",
      rule: "Rule", value: "Value", state: "State", actions: "Actions", origin_col: "Origin",
      pattern_col: "Pattern"},
    ko: {title: "플릿 모니터", nav_fleet: "플릿", nav_server: "서버", nav_incidents: "인시던트",
      nav_alerts: "알림", nav_ask: "질문", source: "데이터 출처", age: "데이터 나이", server: "서버",
      window: "기간", token: "알림 토큰 (이 탭에만 보관)", save: "저장", question: "질문", ask: "묻기",
      notify_on: "위험 알림 받기", notify_active: "위험 알림 수신 중",
      incidents_help: "지난 하루 동안 감지된 인시던트, 최신순.", healthy: "정상", warning: "경고",
      critical: "위험", offline: "오프라인", health: "건강", cpu: "CPU", memory: "메모리", disk: "디스크",
      latency: "응답 시간", network: "네트워크", down: "API에 연결할 수 없습니다 — 마지막 데이터 표시 중:",
      degraded: "API 상태가 좋지 않습니다 — 마지막 데이터 표시 중:", not_available: "이 배포에서는 사용할 수 없습니다.",
      none: "감지된 것이 없습니다.", origin: "원인", pattern: "유형", affected: "영향",
      ack: "확인", silence: "1시간 무음", need_token: "먼저 알림 토큰을 입력하세요.", groups: "그룹",
      alerts: "알림", truth_toggle: "실제 정답 (탐지기 학습용)", detected: "감지된 인시던트 (빨강)",
      injected: "주입된 인시던트 (파랑)", servers: "대", thinking: "…",
      severity: "심각도", status: "상태", since: "시작", rule: "규칙", value: "값", state: "상태", actions: "조치", origin_col: "원인",
      pattern_col: "유형"},
  };
  const THRESHOLDS = {cpu: [70, 90], memory: [80, 95], disk: [80, 90]};
  const LATENCY = {web: [300, 800], api: [450, 1000], db: [150, 500], cache: [40, 150], worker: [2000, 6000]};
  const WINDOWS = {"1h": [3600, 30], "6h": [21600, 300], "24h": [86400, 600], "7d": [604800, 3600]};
  const q = new URLSearchParams(location.search);
  const state = {
    lang: localStorage.getItem("lang") || ((navigator.language || "en").startsWith("ko") ? "ko" : "en"),
    view: q.get("view") || "fleet", server: q.get("server") || null, window: q.get("window") || "1h",
    truth: q.get("truth") === "1",
    etag: null, servers: [], byId: {}, timestamp: null, source: "—", health: {}, history: {},
    failures: 0, timer: null, lastGood: null, requests: 0, responses: {}, charts: [], chartData: {},
    notified: new Set(), optedIn: false, knownGroups: null, healthAt: 0, alertsAt: 0,
  };
  const $ = (id) => document.getElementById(id);
  const t = (k) => T[state.lang][k] || T.en[k] || k;
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const fmtTime = (iso) => {
    const d = new Date(iso);
    return `<time datetime="${esc(iso)}" title="${esc(iso)} (UTC)">${esc(d.toLocaleString(state.lang === "ko" ? "ko-KR" : "en-GB", {month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}))}</time>`;
  };

  async function api(path, options = {}) {
    state.requests += 1;
    const response = await fetch(path, {cache: "no-store", ...options});
    state.responses[response.status] = (state.responses[response.status] || 0) + 1;
    return response;
  }

  // --- the live poll --------------------------------------------------------------------
  async function poll() {
    clearTimeout(state.timer);
    state.timer = null;
    if (document.visibilityState === "hidden") return;
    try {
      const headers = state.etag ? {"If-None-Match": state.etag} : {};
      const response = await api("/api/monitoring/servers", {headers});
      if (response.status === 304) {
        ok();
      } else if (response.ok) {
        state.etag = response.headers.get("ETag");
        state.source = response.headers.get("X-Data-Source") || "—";
        const body = await response.json();
        applyTick(body);
        ok();
      } else {
        fail(response.status >= 500 ? "degraded" : "down");
      }
    } catch (e) {
      fail("down");
    }
    if (Date.now() - state.healthAt > HEALTH_EVERY) loadHealth();
    if (Date.now() - state.alertsAt > ALERTS_EVERY) checkAlerts();
    schedule();
  }

  function ok() {
    state.failures = 0;
    state.lastGood = Date.now();
    $("banner").hidden = true;
    document.body.classList.remove("stale");
    renderMeta();
  }

  function fail(kind) {
    state.failures += 1;
    const when = state.timestamp ? fmtTime(state.timestamp) : "—";
    $("banner").innerHTML = `${esc(t(kind))} ${when}`;
    $("banner").hidden = false;
    document.body.classList.add("stale");
  }

  function schedule() {
    clearTimeout(state.timer);
    if (document.visibilityState === "hidden") return;
    const wait = state.failures
      ? Math.min(TICK * 2 ** (state.failures - 1), MAX_BACKOFF)
      : TICK - (Date.now() % TICK) + 1000;  // just after the next tick
    state.timer = setTimeout(poll, wait);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { clearTimeout(state.timer); state.timer = null; }
    else poll();
  });
  window.addEventListener("focus", () => { if (!state.timer || state.failures) poll(); });

  function applyTick(body) {
    state.servers = body.servers;
    state.byId = Object.fromEntries(body.servers.map((s) => [s.id, s]));
    state.timestamp = body.timestamp;
    state.summary = body.summary;
    for (const s of body.servers) {
      const h = state.history[s.id] || (state.history[s.id] = {t: [], cpu: [], memory: [], rt: []});
      if (h.t[h.t.length - 1] !== body.timestamp) {
        h.t.push(body.timestamp); h.cpu.push(s.cpu.usage); h.memory.push(s.memory.usage); h.rt.push(s.responseTime);
        if (h.t.length > 200) for (const k of Object.keys(h)) h[k].shift();
      }
    }
    if (state.view === "fleet") renderGrid();
    fillServerPick();
  }

  async function loadHistory() {  // sparklines: the last 6 hours of stored rows
    const from = new Date(Date.now() - 6 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    try {
      const r = await api(`/api/metrics/daily?start_time=${from}&limit=5000`);
      if (!r.ok) return;
      const rows = (await r.json()).data;
      for (const row of rows) {
        const h = state.history[row.server_id] || (state.history[row.server_id] = {t: [], cpu: [], memory: [], rt: []});
        h.t.push(row.timestamp); h.cpu.push(row.cpu); h.memory.push(row.memory); h.rt.push(row.response_time);
      }
      if (state.view === "fleet") renderGrid();
    } catch (e) { /* sparklines fill from the polls */ }
  }

  async function loadHealth() {
    state.healthAt = Date.now();
    try {
      const r = await api("/api/analysis/servers");
      if (!r.ok) return;
      for (const s of (await r.json()).servers) state.health[s.server_id] = s.health;
      if (state.view === "fleet") renderGrid();
    } catch (e) { /* health stays as it was */ }
  }

  const SPARK_POINTS = 48;  // a tile's sparkline is ~100 px wide: more points draw nothing new
  function sparkPoints(values, max) {
    const all = values.filter((x) => x !== null && x !== undefined);
    const every = Math.max(1, Math.ceil(all.length / SPARK_POINTS));
    const v = every > 1 ? all.filter((_, i) => (all.length - 1 - i) % every === 0) : all;
    if (v.length < 2) return "";
    let top = max || 1;
    if (!max) for (const x of v) if (x > top) top = x;
    let out = "";
    for (let i = 0; i < v.length; i++) out += `${Math.round(i / (v.length - 1) * 1000) / 10},${Math.round((18 - v[i] / top * 17) * 10) / 10} `;
    return out;
  }

  function spark(values, max) {
    return `<svg viewBox="0 0 100 18" preserveAspectRatio="none" aria-hidden="true"><polyline fill="none" stroke="#475569" stroke-width="1.5" vector-effect="non-scaling-stroke" points="${sparkPoints(values, max)}"/></svg>`;
  }

  const rtText = (s) => (s.responseTime === null ? "—" : `${s.responseTime} ms`);
  const healthText = (id) => (state.health[id] === undefined || state.health[id] === null ? "—" : String(state.health[id]));

  function renderGrid() {
    const grid = $("grid");
    const tiles = grid.children;
    const same = tiles.length === state.servers.length && state.servers.every((s, i) => tiles[i].dataset.server === s.id)
      && grid.dataset.lang === state.lang;
    if (same) {  // a new tick: update the tiles in place
      state.servers.forEach((s, i) => {
        const tile = tiles[i], h = state.history[s.id] || {cpu: [], memory: [], rt: []};
        tile.className = `tile s-${s.status}`;
        tile.querySelector(".st").textContent = t(s.status);
        tile.querySelector("[data-health]").textContent = healthText(s.id);
        tile.querySelector("[data-cpu]").textContent = `${s.cpu.usage.toFixed(1)}%`;
        tile.querySelector("[data-memory]").textContent = `${s.memory.usage.toFixed(1)}%`;
        tile.querySelector("[data-rt]").textContent = rtText(s);
        const lines = tile.querySelectorAll("polyline");
        lines[0].setAttribute("points", sparkPoints(h.cpu, 100));
        lines[1].setAttribute("points", sparkPoints(h.memory, 100));
        lines[2].setAttribute("points", sparkPoints(h.rt));
      });
      renderMeta();
      return;
    }
    grid.dataset.lang = state.lang;
    grid.innerHTML = state.servers.map((s) => {
      const h = state.history[s.id] || {cpu: [], memory: [], rt: []};
      return `<li class="tile s-${esc(s.status)}" data-server="${esc(s.id)}">
        <span class="st">${esc(t(s.status))}</span>
        <a href="?view=server&server=${encodeURIComponent(s.id)}&window=${state.window}">${esc(s.id)}</a>
        <div class="meta">${esc(t("health"))} <b data-health>${healthText(s.id)}</b>/100</div>
        <dl><dt>${t("cpu")}</dt><dd data-cpu>${s.cpu.usage.toFixed(1)}%</dd><dd>${spark(h.cpu, 100)}</dd>
        <dt>${t("memory")}</dt><dd data-memory>${s.memory.usage.toFixed(1)}%</dd><dd>${spark(h.memory, 100)}</dd>
        <dt>${t("latency")}</dt><dd data-rt>${rtText(s)}</dd><dd>${spark(h.rt)}</dd></dl></li>`;
    }).join("");
    renderMeta();
  }

  function renderMeta() {
    const s = state.summary;
    if (s) $("summary").textContent = `${s.total} ${t("servers")}: ${s.healthy} ${t("healthy")}, ${s.warning} ${t("warning")}, ${s.critical} ${t("critical")}, ${s.offline} ${t("offline")}`;
    $("source").textContent = state.source;
    if (state.timestamp) {
      const age = Math.max(0, Math.round((Date.now() - Date.parse(state.timestamp)) / 1000));
      $("age").innerHTML = `${age} s (${fmtTime(state.timestamp)})`;
    }
  }

  // --- server detail --------------------------------------------------------------------
  function fillServerPick() {
    const pick = $("server-pick");
    if (pick.options.length === state.servers.length) return;
    pick.innerHTML = state.servers.map((s) => `<option>${esc(s.id)}</option>`).join("");
    if (!state.server && state.servers.length) state.server = state.servers[0].id;
    pick.value = state.server;
  }

  async function renderServer() {
    if (!state.server) return;
    $("server-name").textContent = state.server;
    $("window-pick").value = state.window;
    const [span, step] = WINDOWS[state.window] || WINDOWS["1h"];
    const now = Math.floor(Date.now() / 1000);
    const to = now - (now % step), from = to - span;
    const iso = (e) => new Date(e * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const r = await api(`/api/monitoring/performance?serverId=${encodeURIComponent(state.server)}&from=${iso(from)}&to=${iso(to)}&step=${step}`);
    if (!r.ok) { $("charts").innerHTML = `<p class="na">${esc(t("not_available"))} (${r.status})</p>`; return; }
    const body = await r.json();
    const shadesOf = async (path, color) => {
      const r = await api(`${path}?from=${iso(Math.max(from, to - 7 * 86400))}&to=${iso(to)}`);
      if (!r.ok) return null;
      const out = [];
      for (const i of (await r.json()).incidents) {
        const mine = i.affected.find((a) => a.server_id === state.server);
        if (mine) out.push([Date.parse(mine.onset) / 1000, Date.parse(i.end) / 1000, color]);
      }
      return out;
    };
    const detected = await shadesOf("/api/analysis/incidents", "rgba(220,38,38,0.14)");
    const injected = state.truth ? await shadesOf("/api/analysis/truth", "rgba(29,78,216,0.14)") : [];
    const shades = [...(detected || []), ...(injected || [])];
    $("truth-pick").checked = state.truth;
    $("server-meta").innerHTML = `<span class="key-d">${(detected || []).length} ${esc(t("detected"))}</span>` +
      (state.truth ? ` · <span class="key-t">${injected === null ? esc(t("not_available")) : `${injected.length} ${esc(t("injected"))}`}</span>` : "");
    state.shades = shades;
    drawCharts(body.metrics, shades);
  }

  function drawCharts(points, shades) {
    for (const c of state.charts) c.destroy();
    state.charts = [];
    const host = $("charts");
    host.innerHTML = "";
    const x = points.map((p) => Date.parse(p.timestamp) / 1000);
    const role = (state.byId[state.server] || {}).role || state.server.split("-")[0];
    const series = {
      cpu: [t("cpu") + " %", points.map((p) => p.cpu), THRESHOLDS.cpu],
      memory: [t("memory") + " %", points.map((p) => p.memory), THRESHOLDS.memory],
      disk: [t("disk") + " %", points.map((p) => p.disk), THRESHOLDS.disk],
      responseTime: [t("latency") + " ms", points.map((p) => p.responseTime), LATENCY[role]],
      network: [t("network") + " KB/s", points.map((p) => p.network.rx + p.network.tx), null],
    };
    state.chartData = {x, ...Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v[1]]))};
    const width = Math.max(280, Math.min(host.clientWidth || 600, 680) - 20);
    for (const [key, [label, ys, levels]] of Object.entries(series)) {
      const box = document.createElement("figure");
      box.className = "chart";
      box.innerHTML = `<h3>${esc(label)}</h3>`;
      host.appendChild(box);
      const draw = (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const [a, b, color] of shades) {
          ctx.fillStyle = color;
          const l = u.valToPos(Math.max(a, u.scales.x.min), "x", true), r = u.valToPos(Math.min(b, u.scales.x.max), "x", true);
          if (r > l) ctx.fillRect(l, u.bbox.top, r - l, u.bbox.height);
        }
        if (levels) {
          levels.forEach((lv, i) => {
            const y = u.valToPos(lv, "y", true);
            if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
            ctx.strokeStyle = i ? "#b91c1c" : "#a16207";
            ctx.setLineDash([6, 4]);
            ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          });
        }
        ctx.restore();
      };
      state.charts.push(new uPlot({
        width, height: 180, legend: {show: true},
        scales: {y: {range: (u, lo, hi) => [0, Math.max(hi, levels ? levels[1] * 1.05 : hi) * 1.05]}},
        series: [{}, {label, stroke: "#1d4ed8", width: 1.5}],
        hooks: {draw: [draw]},
      }, [x, ys], box));
    }
  }

  // --- incidents, alerts, ask -------------------------------------------------------------
  async function renderIncidents() {
    const r = await api("/api/analysis/incidents");
    const list = $("incidents");
    if (!r.ok) { list.innerHTML = `<li class="na">${esc(t("not_available"))} (${r.status})</li>`; return; }
    const items = (await r.json()).incidents.slice().reverse();
    list.innerHTML = items.length ? items.map((i) => `<li><b>${esc(i.pattern.replace(/_/g, " "))}</b> ·
      ${t("origin")} <a href="?view=server&server=${encodeURIComponent(i.origin)}&window=24h">${esc(i.origin)}</a> ·
      ${fmtTime(i.start)}–${fmtTime(i.end)}<br><span class="meta">${t("affected")}:
      ${i.affected.map((a) => `<a href="?view=server&server=${encodeURIComponent(a.server_id)}&window=24h">${esc(a.server_id)}</a> (${fmtTime(a.onset)})`).join(", ")}</span></li>`).join("")
      : `<li class="na">${esc(t("none"))}</li>`;
  }

  async function fetchAlerts() {
    const r = await api("/api/alerts");
    if (!r.ok) return {status: r.status};
    return {status: r.status, body: await r.json()};
  }

  async function renderAlerts() {
    const {status, body} = await fetchAlerts();
    const host = $("alerts");
    if (!body) { host.innerHTML = `<p class="na">${esc(t("not_available"))} (${status})</p>`; return; }
    const groups = body.groups.map((g) => `<tr><td>${esc(t(g.severity) || g.severity)}</td><td>${esc(g.status)}</td>
      <td><a href="?view=server&server=${encodeURIComponent(g.origin)}">${esc(g.origin)}</a></td><td>${esc(g.pattern)}</td>
      <td>${fmtTime(g.starts_at)}</td><td>${g.status === "firing" ? `<button type="button" data-ack="${esc(g.group_key)}">${t("ack")}</button>
      <button type="button" data-silence="${esc(g.origin)}">${t("silence")}</button>` : ""}</td></tr>`).join("");
    const alerts = body.alerts.map((a) => `<tr><td>${esc(a.state)}</td><td>${esc(a.labels.alertname)}</td>
      <td>${esc(a.labels.server_id)}</td><td>${a.value === null ? "—" : esc(Number(a.value).toFixed(1))}</td><td>${fmtTime(a.starts_at)}</td></tr>`).join("");
    const head = (keys) => `<thead><tr>${keys.map((k) => `<th scope="col">${t(k)}</th>`).join("")}</tr></thead>`;
    host.innerHTML = `<h3>${t("groups")}</h3><div class="tablewrap"><table>${head(["severity", "status", "origin_col", "pattern_col", "since", "actions"])}<tbody>${groups || `<tr><td class="na" colspan="6">${t("none")}</td></tr>`}</tbody></table></div>
      <h3>${t("alerts")}</h3><div class="tablewrap"><table>${head(["state", "rule", "server", "value", "since"])}<tbody>${alerts || `<tr><td class="na" colspan="5">${t("none")}</td></tr>`}</tbody></table></div>`;
  }

  async function write(path, body) {
    const token = sessionStorage.getItem("alertsToken");
    if (!token) { alert(t("need_token")); return; }
    await api(path, {method: "POST", headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`}, body: JSON.stringify(body)});
    renderAlerts();
  }

  async function checkAlerts() {  // browser notifications: one per new critical group
    state.alertsAt = Date.now();
    let result;
    try { result = await fetchAlerts(); } catch (e) { return; }
    if (!result.body) return;
    const critical = result.body.groups.filter((g) => g.status === "firing" && g.severity === "critical");
    if (state.knownGroups === null || !state.optedIn) {
      state.knownGroups = new Set(critical.map((g) => g.group_key));
      return;
    }
    for (const g of critical) {
      if (state.knownGroups.has(g.group_key)) continue;
      state.knownGroups.add(g.group_key);
      if (typeof Notification === "undefined" || Notification.permission !== "granted") continue;
      const n = new Notification(`${t("critical")}: ${g.pattern} — ${g.origin}`, {tag: g.group_key, body: g.servers.join(", ")});
      n.onclick = () => { window.focus(); go({view: "server", server: g.origin}); };
    }
  }

  async function optIn() {
    if (typeof Notification === "undefined") return;
    const permission = await Notification.requestPermission();
    state.optedIn = permission === "granted";
    $("notify").textContent = t(state.optedIn ? "notify_active" : "notify_on");
  }

  async function ask(question) {
    $("answer").textContent = t("thinking");
    const r = await api(`/api/ask?q=${encodeURIComponent(question)}`);
    if (r.status === 404 || r.status === 501) { $("answer").textContent = t("not_available"); return; }
    const body = await r.json();
    $("answer").textContent = r.ok ? body.answer : body.error.message;
  }

  // --- navigation and language ------------------------------------------------------------
  function go(change) {
    Object.assign(state, change);
    const params = new URLSearchParams({view: state.view});
    if (state.view === "server" && state.server) {
      params.set("server", state.server); params.set("window", state.window);
      if (state.truth) params.set("truth", "1");
    }
    history.replaceState(null, "", `?${params}`);
    show();
  }

  function show() {
    for (const pane of document.querySelectorAll("[data-pane]")) pane.hidden = pane.dataset.pane !== state.view;
    for (const a of document.querySelectorAll("[data-view]")) {
      if (a.dataset.view === state.view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    if (state.view === "fleet") renderGrid();
    if (state.view === "server") renderServer();
    if (state.view === "incidents") renderIncidents();
    if (state.view === "alerts") renderAlerts();
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    $("lang").textContent = state.lang === "ko" ? "English" : "한국어";
    $("notify").textContent = t(state.optedIn ? "notify_active" : "notify_on");
  }

  document.querySelector("nav").addEventListener("click", (e) => {
    const a = e.target.closest("a[data-view]");
    if (!a) return;
    e.preventDefault();
    go({view: a.dataset.view});
  });
  $("grid").addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (!a) return;
    e.preventDefault();
    go({view: "server", server: a.closest("[data-server]").dataset.server});
  });
  $("incidents").addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (!a) return;
    e.preventDefault();
    go({view: "server", server: new URLSearchParams(a.search).get("server"), window: "24h"});
  });
  $("server-pick").addEventListener("change", (e) => go({server: e.target.value}));
  $("window-pick").addEventListener("change", (e) => go({window: e.target.value}));
  $("truth-pick").addEventListener("change", (e) => go({truth: e.target.checked}));
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "ko" ? "en" : "ko";
    localStorage.setItem("lang", state.lang);
    applyLanguage();
    show();
  });
  $("notify").addEventListener("click", optIn);
  $("token").value = sessionStorage.getItem("alertsToken") || "";
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("alertsToken", $("token").value);
  });
  $("alerts").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.ack) write("/api/alerts/ack", {group_key: b.dataset.ack, by: "dashboard"});
    if (b.dataset.silence) {
      const end = new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      write("/api/alerts/silences", {matchers: [{name: "server_id", value: b.dataset.silence}], ends_at: end, created_by: "dashboard", comment: "from the dashboard"});
    }
  });
  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask($("question").value); });

  window.__dash = {state, poll, go, applyTick, renderGrid, drawCharts, checkAlerts};
  applyLanguage();
  show();
  poll();
  loadHistory();
})();

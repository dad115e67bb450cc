/**
 * The observer's page: hand-written HTML and CSS (`kPageHtml`) and its script (`kPageJs`, served from
 * `/page.js` so the page's Content-Security-Policy allows no inline script). No chart library: the
 * `count()` history is an inline SVG polyline, a few lines of code, where uPlot (about 50 KB) or
 * Chart.js (about 200 KB) would outweigh the whole page for one line per registry.
 *
 * The page subscribes to `/events` (server-sent events; one `snapshot` per refresh) and re-renders
 * each section from it. The actors table is sorted and filtered in the page. With a token, the page
 * is opened as `/?token=…` and passes it on to its event stream.
 *
 * @module
 */

export const kPageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roster observer</title>
<style>
:root { --fg:#1d2330; --mute:#6b7385; --bg:#f6f7f9; --card:#fff; --line:#e3e6ec; --ok:#1a7f37; --warn:#b35900; --bad:#c62828; --accent:#2f5bd3; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:16px; align-items:center; padding:10px 18px; background:#1d2330; color:#fff; position:sticky; top:0; z-index:1; }
header h1 { font-size:16px; margin:0; font-weight:600; }
header .sp { flex:1; }
.badge { padding:2px 8px; border-radius:10px; font-weight:600; font-size:12px; }
.ok { background:#dff3e4; color:var(--ok); } .bad { background:#fde2e1; color:var(--bad); } .warn { background:#fff0d9; color:var(--warn); }
main { padding:12px 18px 40px; display:grid; gap:14px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; overflow-x:auto; }
h2 { font-size:14px; margin:2px 0 8px; } h2 small { color:var(--mute); font-weight:400; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { text-align:right; padding:3px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--mute); font-weight:600; font-size:12px; }
th:first-child, td:first-child, td.l, th.l { text-align:left; }
th[data-sort] { cursor:pointer; user-select:none; } th[data-sort]:hover { color:var(--accent); }
th.sorted::after { content:" ▼"; } th.sorted.asc::after { content:" ▲"; }
.hb { display:inline-block; width:80px; height:8px; background:var(--line); border-radius:4px; vertical-align:middle; overflow:hidden; }
.hb i { display:block; height:100%; background:var(--ok); } .hb i.late { background:var(--bad); }
.none { color:var(--mute); font-style:italic; }
.reg { display:grid; grid-template-columns: 360px 1fr; gap:14px; margin-bottom:12px; }
.kv { display:grid; grid-template-columns:auto auto; gap:2px 12px; align-content:start; }
.kv b { font-weight:600; text-align:right; }
svg.chart { width:100%; height:90px; background:#fafbfc; border:1px solid var(--line); border-radius:4px; }
svg.chart polyline { fill:none; stroke:var(--accent); stroke-width:1.5; }
svg.chart text { font-size:10px; fill:var(--mute); }
input[type=search] { padding:4px 8px; border:1px solid var(--line); border-radius:4px; width:260px; }
ol.tl { list-style:none; margin:0; padding:0; max-height:260px; overflow-y:auto; }
ol.tl li { padding:3px 0; border-bottom:1px solid var(--line); display:flex; gap:10px; }
ol.tl time { color:var(--mute); min-width:80px; } ol.tl .k { min-width:100px; font-weight:600; }
.k-death { color:var(--bad); } .k-stall, .k-fenced { color:var(--warn); } .k-swept, .k-restart { color:var(--ok); } .k-lock_recovery { color:var(--accent); }
.err { color:var(--bad); }
</style>
</head>
<body>
<header><h1>Roster observer</h1><span id="health" class="badge warn">connecting…</span><span class="sp"></span>
<span id="status">waiting for data</span></header>
<main>
<section id="schedulers"><h2>Schedulers <small id="sched-summary"></small></h2>
<table><thead><tr><th>#</th><th class="l">thread</th><th class="l">state</th><th class="l">heartbeat / deadline</th><th>ELU</th><th>actors</th>
<th>queued</th><th>msgs in/s</th><th>msgs out/s</th><th>call p50</th><th>call p99</th><th class="l">deepest mailboxes</th><th>restarts</th></tr></thead>
<tbody></tbody></table></section>
<section id="registries"><h2>Registries and partitions</h2><div id="reg-list"></div></section>
<section id="actors"><h2>Actors <small id="actor-summary"></small></h2>
<p><input type="search" id="actor-filter" placeholder="filter: pid, name or behaviour"></p>
<table><thead><tr><th data-sort="pid">pid</th><th class="l" data-sort="names">names</th><th data-sort="scheduler">scheduler</th>
<th data-sort="mailbox">mailbox</th><th data-sort="handled">handled</th><th data-sort="dropped">dropped</th><th data-sort="uptime">uptime</th>
<th class="l" data-sort="behaviour">behaviour</th></tr></thead><tbody></tbody></table></section>
<section id="supervisors"><h2>Supervisors</h2><div class="body"><span class="none">none</span></div></section>
<section id="topics"><h2>Event bus topics</h2><div class="body"><span class="none">none</span></div></section>
<section id="timeline"><h2>Coordinator timeline <small>deaths, sweeps, stalls, lock recoveries</small></h2><ol class="tl"></ol></section>
</main>
<script src="page.js"></script>
</body>
</html>
`;

export const kPageJs = `'use strict';
(() => {
  const $ = (s) => document.querySelector(s);
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const num = (n) => n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
  const us = (n) => n === null ? '–' : n >= 1e6 ? '≤' + (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + ' s' : n >= 1000 ? '≤' + Math.round(n / 1000) + ' ms' : '≤' + n + ' µs';
  const bytes = (n) => n >= 1 << 30 ? (n / 2 ** 30).toFixed(1) + ' GiB' : n >= 1 << 20 ? (n / 2 ** 20).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B';
  const dur = (ms) => ms >= 3600e3 ? (ms / 3600e3).toFixed(1) + ' h' : ms >= 60e3 ? (ms / 60e3).toFixed(1) + ' min' : ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : ms + ' ms';
  const token = new URLSearchParams(location.search).get('token');
  const state = { updates: 0, last: null, sort: 'pid', order: 'asc', filter: '' };
  window.__observer = state;

  function renderSchedulers(rows) {
    const alive = rows.filter((r) => r.state !== 'dead').length;
    $('#sched-summary').textContent = rows.length + ' schedulers, ' + alive + ' alive';
    $('#schedulers tbody').innerHTML = rows.length === 0 ? '<tr><td colspan="13" class="l none">none (no runtime)</td></tr>' : rows.map((r) => {
      const frac = Math.min(1, r.heartbeatAgeMs / r.stallMs);
      const cls = r.state === 'alive' ? 'ok' : r.state === 'dead' ? 'bad' : 'warn';
      const top = r.top.map((t) => esc(t.pid) + ': ' + num(t.depth)).join(', ');
      return '<tr data-index="' + r.index + '" data-state="' + r.state + '" data-actors="' + r.actors + '">' +
        '<td>' + r.index + '</td><td class="l">' + r.threadId + '</td>' +
        '<td class="l"><span class="badge ' + cls + '">' + esc(r.state) + (r.reason ? ': ' + esc(r.reason) : '') + '</span></td>' +
        '<td class="l"><span class="hb"><i class="' + (frac >= 1 ? 'late' : '') + '" style="width:' + Math.round(frac * 100) + '%"></i></span> ' +
        dur(r.heartbeatAgeMs) + ' / ' + dur(r.stallMs) + '</td>' +
        '<td>' + (r.elu === null ? '–' : (r.elu * 100).toFixed(0) + '%') + '</td><td>' + num(r.actors) + '</td><td>' + num(r.depth) + '</td>' +
        '<td>' + num(r.inPerSec) + '</td><td>' + num(r.outPerSec) + '</td><td>' + us(r.callP50Us) + '</td><td>' + us(r.callP99Us) + '</td>' +
        '<td class="l">' + (top || '<span class="none">empty</span>') + '</td><td>' + r.restarts + '</td></tr>';
    }).join('');
  }

  function chart(history) {
    const w = 600, h = 90, pad = 14;
    if (history.length < 2) return '<svg class="chart" viewBox="0 0 ' + w + ' ' + h + '"><text x="8" y="16">collecting…</text></svg>';
    const t0 = history[0][0], t1 = history[history.length - 1][0];
    let lo = Infinity, hi = -Infinity;
    for (const [, v] of history) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const span = hi - lo || 1;
    const pts = history.map(([t, v]) => ((t - t0) / (t1 - t0 || 1) * (w - 2 * pad) + pad).toFixed(1) + ',' +
      (h - pad - (v - lo) / span * (h - 2 * pad) - (hi === lo ? (h - 2 * pad) / 2 : 0)).toFixed(1)).join(' ');
    return '<svg class="chart" viewBox="0 0 ' + w + ' ' + h + '" preserveAspectRatio="none"><polyline points="' + pts + '"/>' +
      '<text x="4" y="11">' + num(hi) + '</text><text x="4" y="' + (h - 3) + '">' + num(lo) + '</text>' +
      '<text x="' + (w - 4) + '" y="' + (h - 3) + '" text-anchor="end">last ' + dur(t1 - t0) + '</text></svg>';
  }

  function renderRegistries(regs) {
    $('#reg-list').innerHTML = regs.length === 0 ? '<span class="none">none</span>' : regs.map((g) =>
      '<div class="reg" data-registry="' + esc(g.name) + '" data-count="' + g.count + '">' +
      '<div><h2>' + esc(g.name) + ' <small>' + esc(g.kind) + (g.closed ? ', closed' : '') + '</small></h2><div class="kv">' +
      '<span>entries (count)</span><b class="count">' + num(g.count) + '</b><span>capacity (slots)</span><b>' + num(g.capacity) + '</b>' +
      '<span>tombstones</span><b>' + num(g.tombstones) + '</b><span>bytes</span><b>' + bytes(g.bytes) + '</b>' +
      '<span>growths / compactions</span><b>' + num(g.growths) + ' / ' + num(g.compactions) + '</b>' +
      '<span>lock recoveries</span><b>' + num(g.lockRecoveries) + '</b></div></div>' +
      '<div>' + chart(g.history) + '</div>' +
      '<table style="grid-column:1/3"><thead><tr><th>partition</th><th>entries</th><th>capacity</th><th>tombstones</th><th>bytes</th>' +
      '<th class="l">lock holder</th><th>growths</th><th>compactions</th><th>recoveries</th><th class="l">entries per owner thread</th></tr></thead><tbody>' +
      g.partitions.map((p) => '<tr><td>' + p.index + '</td><td>' + num(p.entries) + '</td><td>' + num(p.capacity) + '</td><td>' + num(p.tombstones) +
        '</td><td>' + bytes(p.bytes) + '</td><td class="l">' + (p.lock === 0 ? '<span class="none">free</span>' : esc(p.lock) + ' (' + esc(p.lockHolder) + ')') +
        '</td><td>' + num(p.growths) + '</td><td>' + num(p.compactions) + '</td><td>' + num(p.lockRecoveries) + '</td><td class="l">' +
        (p.owners.map((o) => esc(o.thread) + ': ' + num(o.entries)).join(', ') || '<span class="none">empty</span>') + '</td></tr>').join('') +
      '</tbody></table></div>').join('');
  }

  function renderActors() {
    const snap = state.last;
    if (!snap) return;
    const f = state.filter.toLowerCase();
    const key = { pid: (a) => a.pid, names: (a) => a.names.join(' '), scheduler: (a) => a.scheduler, behaviour: (a) => a.behaviour,
      mailbox: (a) => a.mailbox, handled: (a) => a.handled, dropped: (a) => a.dropped, uptime: (a) => a.uptimeMs }[state.sort];
    const dir = state.order === 'asc' ? 1 : -1;
    const rows = snap.actors.filter((a) => !f || String(a.pid).includes(f) || a.behaviour.toLowerCase().includes(f) ||
      a.names.some((n) => n.toLowerCase().includes(f)));
    rows.sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir || a.pid - b.pid; });
    $('#actor-summary').textContent = num(rows.length) + ' shown of ' + num(snap.actorsTotal) +
      (snap.actorsAt ? ', listed ' + dur(Math.max(0, snap.at - snap.actorsAt)) + ' before this refresh' : '');
    document.querySelectorAll('#actors th[data-sort]').forEach((th) => {
      th.classList.toggle('sorted', th.dataset.sort === state.sort);
      th.classList.toggle('asc', th.dataset.sort === state.sort && state.order === 'asc');
    });
    $('#actors tbody').innerHTML = rows.length === 0 ? '<tr><td colspan="8" class="l none">none</td></tr>' : rows.slice(0, 1000).map((a) =>
      '<tr data-pid="' + a.pid + '" data-mailbox="' + a.mailbox + '"><td>' + a.pid + '</td><td class="l">' + esc(a.names.join(', ')) + '</td><td>' +
      a.scheduler + '</td><td>' + num(a.mailbox) + '</td><td>' + num(a.handled) + '</td><td>' + num(a.dropped) + '</td><td>' + dur(a.uptimeMs) +
      '</td><td class="l">' + esc(a.behaviour) + '</td></tr>').join('');
  }

  function renderRows(sel, src, cols) {
    const el = $(sel + ' .body');
    if (src.error) { el.innerHTML = '<span class="err">' + esc(src.error) + '</span>'; return; }
    if (src.rows === null) { el.innerHTML = '<span class="none">none (no source)</span>'; return; }
    if (src.rows.length === 0) { el.innerHTML = '<span class="none">none</span>'; return; }
    el.innerHTML = '<table><thead><tr>' + cols.map((c, i) => '<th' + (i === 0 ? ' class="l"' : '') + '>' + c[0] + '</th>').join('') + '</tr></thead><tbody>' +
      src.rows.map((r) => '<tr>' + cols.map((c, i) => '<td' + (i === 0 ? ' class="l"' : '') + '>' + esc(c[1](r)) + '</td>').join('') + '</tr>').join('') + '</tbody></table>';
  }

  function renderTimeline(events) {
    $('#timeline ol').innerHTML = events.length === 0 ? '<li class="none">nothing yet</li>' : events.slice().reverse().map((e) =>
      '<li data-kind="' + esc(e.kind) + '" data-subject="' + esc(e.subject) + '"><time>' + new Date(e.at).toLocaleTimeString() + '</time><span class="k k-' +
      esc(e.kind) + '">' + esc(e.kind.replace('_', ' ')) + '</span><span>' + esc(e.subject) + '</span><span>' + esc(e.detail) +
      (e.reason ? ' (' + esc(e.reason) + ')' : '') + (e.ms !== null ? ', ' + dur(e.ms) + ' after the death' : '') + '</span></li>').join('');
  }

  function render(snap) {
    state.last = snap;
    renderSchedulers(snap.schedulers);
    renderRegistries(snap.registries);
    renderActors();
    renderRows('#supervisors', snap.supervisors, [['name', (r) => r.name], ['strategy', (r) => r.strategy ?? ''], ['children', (r) => r.children],
      ['restarts', (r) => r.restarts], ['intensity left', (r) => r.intensityLeft + (r.maxRestarts !== undefined ? ' of ' + r.maxRestarts : '')]]);
    renderRows('#topics', snap.topics, [['topic', (r) => r.topic], ['subscribers', (r) => num(r.subscribers)],
      ['publishes/s', (r) => r.publishesPerSec === null ? '–' : num(Math.round(r.publishesPerSec))], ['publishes', (r) => num(r.publishes)]]);
    renderTimeline(snap.timeline);
    const h = $('#health');
    h.className = 'badge ' + (snap.health.ok ? 'ok' : 'bad');
    h.textContent = snap.health.ok ? 'healthy' : 'unhealthy: ' + snap.health.reasons.join('; ');
    state.updates++;
    $('#status').textContent = 'live, updated ' + new Date(snap.at).toLocaleTimeString();
    document.body.dataset.updates = String(state.updates);
  }

  document.querySelectorAll('#actors th[data-sort]').forEach((th) => th.addEventListener('click', () => {
    const s = th.dataset.sort;
    const numeric = ['mailbox', 'handled', 'dropped', 'uptime'].includes(s);
    state.order = state.sort === s ? (state.order === 'asc' ? 'desc' : 'asc') : numeric ? 'desc' : 'asc';
    state.sort = s;
    renderActors();
  }));
  $('#actor-filter').addEventListener('input', (e) => { state.filter = e.target.value; renderActors(); });

  const es = new EventSource('events' + (token ? '?token=' + encodeURIComponent(token) : ''));
  es.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
  es.onerror = () => { $('#status').textContent = 'disconnected, retrying…'; };
})();
`;

// The logrelay dashboard: plain browser JavaScript, no framework and no build step. It polls the
// admin's JSON API (the same data `logrelay status` prints) and draws the charts as SVG. Every
// value is put in the page as text, never as markup: paths and names come from operators' hosts.

const REFRESH_MS = 2000;
const COLORS = ['#2f6fd6', '#d6772f', '#2fa37a', '#a33f9c', '#b8a11f', '#4d4d4d', '#d63f5a'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (selector) => document.querySelector(selector);

/** A table cell; `className` 'num' right-aligns numbers. */
function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** Replaces a table's body with one row per item; `rowOf` returns [attributes, cells]. */
function fillTable(selector, items, rowOf) {
  const body = $(`${selector} tbody`);
  const rows = items.map((item) => {
    const [attributes, cells] = rowOf(item);
    const tr = document.createElement('tr');
    for (const [name, value] of Object.entries(attributes)) tr.setAttribute(name, value);
    tr.append(...cells);
    return tr;
  });
  body.replaceChildren(...rows);
}

const number = (n) => Math.round(n).toLocaleString('en-US');

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${res.status}`);
  return body;
}

function showService(name, state) {
  const li = $(`#svc-${name}`);
  li.className = state === null ? 'unknown' : state.up ? 'up' : 'down';
  li.title = state === null ? 'not configured' : state.up ? 'reachable' : (state.error ?? 'down');
}

function renderCluster(snapshot) {
  const report = snapshot.report;
  const summary = $('#cluster-summary');
  if (!report) {
    summary.textContent = snapshot.error
      ? `cluster not readable: ${snapshot.error}`
      : 'cluster not read yet';
    return;
  }
  // A stale entry is an older session of a restarted collector, gone when that session expires.
  const staleLeader = report.members.some((m) => m.leader && m.stale);
  const leader = report.leader
    ? `${report.leader.id} (epoch ${report.leader.epoch}${staleLeader ? ', stale session' : ''})`
    : 'none';
  summary.textContent =
    `cluster ${report.root} on ${report.zookeeper}: ${report.members.length} member(s), ` +
    `leader ${leader}, ${report.agents.length} agent(s)` +
    (snapshot.connected ? '' : ` — ZooKeeper unreachable, showing ${snapshot.readAt}`);
  summary.dataset.leader = report.leader?.id ?? '';
  fillTable('#members', report.members, (m) => [
    m.stale ? { 'data-member-id': m.id, class: 'stale' } : { 'data-member-id': m.id },
    [
      cell(m.id),
      cell(m.address),
      cell([m.leader ? 'leader' : '', m.stale ? 'stale' : ''].filter(Boolean).join(', ')),
      cell(number(m.bytesPerSec), 'num'),
      cell(String(m.agents), 'num'),
      cell(String(m.connections), 'num'),
      cell(number(m.inFlightBytes), 'num'),
      cell(
        m.sinks && m.sinks.length > 0
          ? m.sinks.map((s) => `${s.name} (${s.type}, ${s.guarantee})`).join(', ')
          : '-',
      ),
    ],
  ]);
  const memberAddress = new Map(report.members.map((m) => [m.address, m.id]));
  fillTable('#agents', report.agents, (a) => [
    { 'data-agent-id': a.id },
    [
      cell(a.id),
      cell(a.host),
      cell(a.assigned ?? '-'),
      // The agent reports an address; show which member that is.
      cell(a.collector ? (memberAddress.get(a.collector) ?? a.collector) : '-'),
      cell(number(a.bytesPerSec), 'num'),
      cell(String(a.streamCount), 'num'),
      cell(number(a.lagBytes), 'num'),
      cell(a.lagSeconds.toFixed(1), 'num'),
    ],
  ]);
}

/** Draws `series` ([{ name, points: [[t, v]] }]) over the last `spanMs` as polylines. */
function drawChart(svgSelector, legendSelector, series, unit) {
  const svg = $(svgSelector);
  const width = 600;
  const height = 200;
  const pad = { left: 56, right: 8, top: 8, bottom: 18 };
  const now = Date.now();
  const start = Math.min(now - 60_000, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const x = (t) => pad.left + ((t - start) / (now - start)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / max) * (height - pad.top - pad.bottom);
  const nodes = [];
  const add = (tag, attributes, text) => {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    nodes.push(el);
  };
  add('line', { class: 'axis', x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0) });
  add('line', { class: 'axis', x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0) });
  add('text', { x: 2, y: pad.top + 8 }, `${number(max)} ${unit}`);
  add('text', { x: 2, y: y(0) }, `0`);
  add('text', { x: pad.left, y: height - 4 }, `-${Math.round((now - start) / 60_000)} min`);
  add('text', { x: width - pad.right - 20, y: height - 4 }, 'now');
  series.forEach((s, i) => {
    const last = s.points.at(-1);
    if (!last) return;
    const color = COLORS[i % COLORS.length];
    add('polyline', {
      fill: 'none',
      stroke: color,
      'stroke-width': 1.5,
      'data-series': s.name,
      points: s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
    });
    // The latest value as a dot: visible even while the line has a single point.
    add('circle', { cx: x(last[0]).toFixed(1), cy: y(last[1]).toFixed(1), r: 2.5, fill: color });
  });
  svg.replaceChildren(...nodes);
  const legend = $(legendSelector);
  legend.replaceChildren(
    ...series.map((s, i) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.style.background = COLORS[i % COLORS.length];
      li.append(swatch, document.createTextNode(s.name));
      return li;
    }),
  );
}

function renderHistory(points) {
  const members = [...new Set(points.flatMap((p) => Object.keys(p.members)))].sort();
  drawChart(
    '#chart-throughput',
    '#legend-throughput',
    [
      { name: 'all collectors', points: points.map((p) => [p.t, p.bytesPerSec]) },
      ...members.map((id) => ({
        name: id,
        points: points.filter((p) => id in p.members).map((p) => [p.t, p.members[id]]),
      })),
    ],
    'B/s',
  );
  drawChart(
    '#chart-lag',
    '#legend-lag',
    [{ name: 'oldest unacknowledged byte (s)', points: points.map((p) => [p.t, p.lagSeconds]) }],
    's',
  );
  const legend = $('#legend-lag');
  const last = points.at(-1);
  const li = document.createElement('li');
  li.textContent = `bytes behind now: ${last ? number(last.lagBytes) : '-'}`;
  legend.append(li);
}

function renderControl(nodes, tails) {
  fillTable('#nodes', nodes, (n) => [
    { 'data-node-id': String(n.id) },
    [cell(String(n.id)), cell(n.ip), cell(n.serverName), cell(n.keyPath)],
  ]);
  fillTable('#tails', tails, (t) => {
    const running = t.status === '1';
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = running ? 'Stop' : 'Start';
    button.dataset.action = running ? 'stop' : 'start';
    button.dataset.tailId = String(t.id);
    const actions = document.createElement('td');
    actions.append(button);
    return [
      { 'data-tail-id': String(t.id), 'data-status': running ? 'running' : 'stopped' },
      [
        cell(String(t.id)),
        cell(String(t.nodeId)),
        cell(t.logPath),
        cell(t.topic),
        cell(running ? 'running' : 'stopped', running ? '' : 'stopped'),
        actions,
      ],
    ];
  });
}

function say(text, isError = false) {
  const message = $('#message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

async function refresh() {
  const [services, cluster, history, nodes, tails] = await Promise.allSettled([
    getJson('/api/services'),
    getJson('/api/cluster'),
    getJson('/api/history'),
    getJson('/api/nodes'),
    getJson('/api/tails'),
  ]);
  if (services.status === 'fulfilled') {
    for (const name of ['zookeeper', 'mysql', 'etcd']) showService(name, services.value[name]);
  }
  if (cluster.status === 'fulfilled') renderCluster(cluster.value);
  else $('#cluster-summary').textContent = cluster.reason.message;
  if (history.status === 'fulfilled') renderHistory(history.value.points);
  if (nodes.status === 'fulfilled' && tails.status === 'fulfilled') {
    renderControl(nodes.value.nodes, tails.value.tails);
  } else {
    const failed = nodes.status === 'rejected' ? nodes : tails;
    say(`nodes and tails not readable: ${failed.reason.message}`, true);
  }
  $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshed = String(Date.now());
}

async function setTail(id, action) {
  const token = $('#token').value.trim();
  if (!token) {
    say('enter the admin token first (LOGRELAY_ADMIN_TOKEN of admin serve)', true);
    return;
  }
  const res = await fetch(`/api/tails/${encodeURIComponent(id)}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    say(`${action} tail ${id} failed: ${body?.error?.message ?? `HTTP ${res.status}`}`, true);
    return;
  }
  const published = body.published ? ` and published to ${body.published.key}` : '';
  say(`tail ${id} ${action === 'stop' ? 'stopped' : 'started'}${published}`);
  await refresh();
}

function main() {
  const token = $('#token');
  token.value = sessionStorage.getItem('logrelay-token') ?? '';
  token.addEventListener('change', () => sessionStorage.setItem('logrelay-token', token.value));
  $('#token-form').addEventListener('submit', (event) => event.preventDefault());
  $('#tails').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    button.disabled = true;
    setTail(button.dataset.tailId, button.dataset.action)
      .catch((err) => say(String(err), true))
      .finally(() => (button.disabled = false));
  });
  const loop = () =>
    refresh()
      .catch((err) => say(String(err), true))
      .finally(() => setTimeout(loop, REFRESH_MS));
  loop();
}

main();

import { GRAPH_PERIODS, unitOf, type GraphPeriod } from './graph-args.ts';
import type { BoardView, DestinationView, StatusModel } from './status-model.ts';

// The gateway's own page: server-rendered HTML, a little CSS, no script; it reloads itself.

const REFRESH_SECONDS = 15;

const CSS = `
body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#1b1b1b}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .4em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a7a32}.warn{color:#a15c00;font-weight:600}.bad{color:#b00020;font-weight:600}.muted{color:#666}
.graphs img{display:block;max-width:100%;margin:0 0 1em;border:1px solid #ddd}
a{color:#0645ad}code{font-size:.9em}
`;

/** Escapes text for HTML. */
export function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${html(title)}</title><style>${CSS}</style></head>
<body>${body}</body></html>
`;
}

/** "12 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function boardHref(clientId: string): string {
  return `/board/${encodeURIComponent(clientId)}`;
}

function values(b: BoardView): string {
  if (b.lastValues.length === 0) return '<span class="muted">none yet</span>';
  return b.lastValues.map(([k, v]) => `${html(k)}&nbsp;=&nbsp;<b>${v === null ? 'U' : html(String(v))}</b>&nbsp;${html(unitOf(k, b.units))}`).join('<br>');
}

function state(b: BoardView, nowMs: number): string {
  const seen = b.lastSeenMs === undefined ? '<span class="muted">never heard</span>' : `${html(new Date(b.lastSeenMs).toISOString())}<br><span class="muted">${ago(nowMs - b.lastSeenMs)}</span>`;
  const link = b.connected ? `<span class="ok">connected</span> (${html(b.transport ?? '?')})` : `<span class="muted">not connected</span>${b.transport ? ` (${html(b.transport)})` : ''}`;
  const silent = b.silent ? `<br><span class="warn">silent for more than 3 steps (${b.stepSeconds ?? '?'} s each)</span>` : '';
  return `<td>${link}${silent}</td><td>${seen}</td>`;
}

function errors(b: BoardView, nowMs: number): string {
  if (b.errors === 0) return '<td class="num">0</td>';
  const last = b.lastError ? `<br><span class="muted">last ${html(b.lastError.code)}, ${ago(nowMs - b.lastError.atMs)}</span>` : '';
  return `<td class="num"><span class="bad">${b.errors}</span>${last}</td>`;
}

function destinationRow(d: DestinationView, nowMs: number): string {
  const status = d.downSinceMs === undefined ? '<span class="ok">up</span>' : `<span class="bad">down since ${html(new Date(d.downSinceMs).toISOString())}</span> <span class="muted">(${ago(nowMs - d.downSinceMs)})</span>`;
  const lastError = d.lastError ? `${html(d.lastError.message)} <span class="muted">(${ago(nowMs - d.lastError.atMs)})</span>` : '<span class="muted">none</span>';
  return `<tr><td>${html(d.name)}</td><td>${status}</td><td class="num">${d.queued}</td><td class="num">${d.backlog}</td><td class="num">${d.spoolPending}</td><td class="num">${d.sent}</td><td class="num">${d.dropped > 0 ? `<span class="bad">${d.dropped}</span>` : '0'}</td><td>${lastError}</td></tr>`;
}

/** The overview: every board and every destination. */
export function renderOverview(m: StatusModel): string {
  const rows = m.boards.map((b) => `<tr><td><a href="${boardHref(b.clientId)}">${html(b.clientId)}</a></td>${state(b, m.nowMs)}<td>${values(b)}</td><td><code>${html(b.rrdFile ?? '-')}</code></td>${errors(b, m.nowMs)}</tr>`);
  const boards = m.boards.length === 0
    ? '<p class="muted">No boards yet: <code>node dist/server.js create &lt;client_id&gt;</code> makes a profile.</p>'
    : `<table><thead><tr><th>board</th><th>link</th><th>last seen</th><th>last values</th><th>rrd file</th><th>errors</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const invalid = m.invalidProfiles.length === 0 ? '' : `<h2 class="bad">Profiles that do not load</h2><ul>${m.invalidProfiles.map((e) => `<li>${html(e)}</li>`).join('')}</ul>`;
  const dests = m.destinations.length === 0
    ? '<p class="muted">None configured: readings go to the rrd files only.</p>'
    : `<table><thead><tr><th>destination</th><th>status</th><th>queued</th><th>waiting</th><th>in the spool</th><th>sent</th><th>dropped</th><th>last error</th></tr></thead><tbody>${m.destinations.map((d) => destinationRow(d, m.nowMs)).join('')}</tbody></table>`;
  const connected = m.boards.filter((b) => b.connected).length;
  const clock = m.clock.behindMs === 0
    ? ''
    : `<p class="bad">The wall clock is ${Math.round(m.clock.behindMs / 1000)} s behind the readings' stamps (it stepped back, or started behind the files): stamps go on at the monotonic clock's pace until it catches up. Check NTP (<code>timedatectl</code>).</p>`;
  return page(
    'rrduino-gateway',
    `<h1>rrduino-gateway</h1><p class="muted">version ${html(m.version)} · up ${ago(m.nowMs - m.startedAtMs).replace(' ago', '')} · ${connected} of ${m.boards.length} board(s) connected · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></p>
${clock}<h2>Boards</h2>${boards}${invalid}<h2>Destinations</h2>${dests}`,
  );
}

/** One board: its state and its graphs for the last hour, day, week and year. */
export function renderBoardPage(m: Pick<StatusModel, 'nowMs'>, b: BoardView): string {
  const id = encodeURIComponent(b.clientId);
  const graphs = b.rrdFile === undefined
    ? '<p class="muted">This board\'s handler keeps no rrd file.</p>'
    : (Object.keys(GRAPH_PERIODS) as GraphPeriod[])
        .map((p) => `<img src="/graph/${id}/${p}.png" alt="${html(`${b.clientId}: ${GRAPH_PERIODS[p].title}`)}" width="737" height="290">`)
        .join('');
  return page(
    `${b.clientId} · rrduino-gateway`,
    `<p><a href="/">← all boards</a></p><h1>${html(b.clientId)}</h1>
<table><thead><tr><th>link</th><th>last seen</th><th>last values</th><th>errors</th><th>rrd file</th></tr></thead>
<tbody><tr>${state(b, m.nowMs)}<td>${values(b)}</td>${errors(b, m.nowMs)}<td><code>${html(b.rrdFile ?? '-')}</code>${b.stepSeconds ? `<br><span class="muted">step ${b.stepSeconds} s</span>` : ''}</td></tr></tbody></table>
<h2>Graphs</h2><div class="graphs">${graphs}</div>`,
  );
}

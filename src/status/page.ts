/**
 * The status pages, rendered on the server (they read fine without script); /static/app.js then
 * keeps them current from the event stream. Every value from outside (charge point ids, device
 * names, frames, addresses) is escaped here and set as text by the script, never as markup.
 * Links are relative, so the pages work behind a reverse proxy under any path prefix.
 */
import type { ChargePointDetail, ChargePointView } from '../connector/views.js';
import type { CounterTable } from './counters.js';
import type { GatewayStatus } from './model.js';
import type { OverviewSnapshot } from './snapshot.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The canonical page path of a charge point, relative to the overview: one path segment. */
export function chargePointHref(id: string): string {
  return `chargepoints/${encodeURIComponent(id)}`;
}

function layout(opts: { title: string; base: string; page: string; id?: string; body: string }): string {
  const id = opts.id === undefined ? '' : ` data-id="${escapeHtml(opts.id)}"`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<link rel="stylesheet" href="${opts.base}static/style.css">
</head>
<body data-page="${opts.page}"${id}>
${opts.body}
<script src="${opts.base}static/app.js"></script>
</body>
</html>
`;
}

const ago = (iso: string | undefined): string =>
  iso === undefined ? '—' : iso.replace('T', ' ').slice(0, 19);

function header(status: GatewayStatus, title: string, back: string | undefined): string {
  return `<header>
<h1>${back === undefined ? '' : `<a href="${back}">tb-ocpp-gateway</a> › `}${escapeHtml(title)}</h1>
<span class="meta">v${escapeHtml(status.version)} · up <span id="uptime">${status.uptimeSeconds}</span> s · <span id="live" class="live off">connecting…</span></span>
</header>`;
}

function linkCard(status: GatewayStatus): string {
  const tb = status.thingsboard;
  const limits = tb.sessionLimits ? JSON.stringify(tb.sessionLimits) : 'not reported';
  const waits = Object.keys(tb.rateLimitWaits).length > 0 ? JSON.stringify(tb.rateLimitWaits) : 'none';
  return `<section class="card" id="link">
<h2>ThingsBoard</h2>
<dl>
<dt>State</dt><dd><span id="tb-state" class="badge ${tb.connected ? 'ok' : 'bad'}">${tb.connected ? 'connected' : 'disconnected'}</span> since <span id="tb-since">${ago(tb.since)}</span></dd>
<dt>Broker</dt><dd id="tb-endpoint">${escapeHtml(tb.endpoint)}</dd>
<dt>Last failure</dt><dd id="tb-failure">${tb.lastFailure ? `${escapeHtml(tb.lastFailure.reason)} at ${ago(tb.lastFailure.at)}` : '—'}</dd>
<dt>Backlog</dt><dd><span id="backlog">${status.outbox.size}</span> records, oldest <span id="backlog-age">${status.outbox.oldestAgeSeconds}</span> s</dd>
<dt>Last publish</dt><dd id="tb-last">${ago(tb.publish.lastAckAt)}</dd>
<dt>Publish latency</dt><dd id="tb-latency">${latencyText(status)}</dd>
<dt>Session limits</dt><dd id="tb-limits">${escapeHtml(limits)}</dd>
<dt>Rate-limit waits</dt><dd id="tb-waits">${escapeHtml(waits)}</dd>
</dl>
</section>`;
}

export function latencyText(status: GatewayStatus): string {
  const l = status.thingsboard.publish.latency;
  if (l.count === 0) return '—';
  const ms = (s: number | undefined) => (s === undefined ? '?' : `≤${s * 1000} ms`);
  return `p50 ${ms(l.p50)}, p95 ${ms(l.p95)} (${l.count} acknowledged)`;
}

function connectorStatuses(cp: ChargePointView): string {
  if (cp.connectors.length === 0) return '—';
  return cp.connectors
    .map((c) => {
      const label = c.evseId === undefined ? String(c.connectorId) : `${c.evseId}/${c.connectorId}`;
      return `<span class="badge s-${escapeHtml(c.status.toLowerCase())}">${escapeHtml(label)}: ${escapeHtml(c.status)}</span>`;
    })
    .join(' ');
}

function transactionsText(cp: ChargePointView): string {
  if (cp.transactions.length === 0) return '—';
  return cp.transactions
    .map(
      (t) =>
        `${escapeHtml(t.id)}${t.energyWh === undefined ? '' : ` · ${(t.energyWh / 1000).toFixed(2)} kWh`}` +
        // Masked or hashed by the sessions feature: the store never holds an idToken in clear.
        (t.idToken === undefined ? '' : ` · ${escapeHtml(t.idToken)}`),
    )
    .join('<br>');
}

function profileText(cp: ChargePointView): string {
  return cp.securityProfile === undefined ? '' : `, security profile ${cp.securityProfile}`;
}

function row(cp: ChargePointView): string {
  return `<tr data-id="${escapeHtml(cp.id)}">
<td><a href="${chargePointHref(cp.id)}">${escapeHtml(cp.id)}</a></td>
<td>${escapeHtml(cp.device.name)}<br><small>${escapeHtml(cp.device.type)}</small></td>
<td>${escapeHtml(cp.ocppVersion)}</td>
<td>${ago(cp.connectedSince)}</td>
<td>${escapeHtml(cp.remoteAddress)}:${cp.remotePort}</td>
<td>${cp.lastMessage ? `${escapeHtml(cp.lastMessage.action ?? 'reply')}<br><small>${ago(cp.lastMessage.at)}</small>` : '—'}</td>
<td class="statuses">${connectorStatuses(cp)}</td>
<td>${transactionsText(cp)}</td>
</tr>`;
}

function countersSection(tables: CounterTable[]): string {
  const parts = tables.map(
    (t) =>
      `<table class="counters"><caption>${escapeHtml(t.title)}</caption>${t.rows
        .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
        .join('')}</table>`,
  );
  return `<section class="card wide"><h2>Counters</h2><div id="counters" class="grid">${parts.join('')}</div></section>`;
}

/** ` (1.6: 2, 2.0.1: 1)` */
function byVersion(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([v, n]) => `${v.replace(/^ocpp/, '')}: ${n}`);
  return parts.length === 0 ? '' : ` (${escapeHtml(parts.join(', '))})`;
}

export function renderOverview(snapshot: OverviewSnapshot): string {
  const { status, chargePoints, total, counters } = snapshot;
  const connectors = status.connectors
    .map(
      (c) =>
        `<li>${escapeHtml(c.name)} · port ${c.port} · ${c.connections} connected${byVersion(c.connectionsByVersion)}</li>`,
    )
    .join('');
  const body = `${header(status, 'tb-ocpp-gateway', undefined)}
<main>
<div class="grid">
${linkCard(status)}
<section class="card"><h2>Central systems</h2><ul id="connectors">${connectors}</ul></section>
</div>
<section class="card wide">
<h2>Charge points <small id="cp-count">${total === chargePoints.length ? total : `${chargePoints.length} of ${total}`}</small></h2>
<input id="filter" type="search" placeholder="filter by id, device, address, status" aria-label="filter">
<table id="chargepoints" class="list">
<thead><tr><th>Id</th><th>Device</th><th>OCPP</th><th>Connected since</th><th>Address</th><th>Last message</th><th>Connectors</th><th>Transaction</th></tr></thead>
<tbody>${chargePoints.map(row).join('\n')}</tbody>
</table>
<p id="empty" class="muted"${chargePoints.length === 0 ? '' : ' hidden'}>No charge point is connected.</p>
</section>
${countersSection(counters)}
</main>`;
  return layout({ title: 'tb-ocpp-gateway status', base: '', page: 'overview', body });
}

function framesTable(detail: ChargePointDetail): string {
  const rows = detail.recentFrames
    .map(
      (f) =>
        `<tr class="${f.direction}"><td class="time">${escapeHtml(f.at.slice(11, 23))}</td><td>${f.direction === 'in' ? '⇦ in' : '⇨ out'}</td><td><pre>${escapeHtml(f.frame)}</pre></td></tr>`,
    )
    .join('\n');
  return `<table id="frames" class="list"><thead><tr><th>When (UTC)</th><th>Direction</th><th>Frame (credentials redacted)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderChargePoint(
  status: GatewayStatus,
  id: string,
  detail: ChargePointDetail | undefined,
): string {
  const base = '../';
  const info = detail
    ? `<dl id="cp-info">
<dt>Device</dt><dd id="cp-device">${escapeHtml(detail.device.name)} (${escapeHtml(detail.device.type)})</dd>
<dt>OCPP</dt><dd id="cp-version">${escapeHtml(detail.ocppVersion)} · connector ${escapeHtml(detail.connector)}</dd>
<dt>Connected since</dt><dd id="cp-since">${ago(detail.connectedSince)} from ${escapeHtml(detail.remoteAddress)}:${detail.remotePort}${profileText(detail)}</dd>
<dt>Last message</dt><dd id="cp-last">${detail.lastMessage ? `${escapeHtml(detail.lastMessage.action ?? 'reply')} at ${ago(detail.lastMessage.at)}` : '—'}</dd>
<dt>Frames</dt><dd id="cp-frames">${detail.frames.in} in, ${detail.frames.out} out</dd>
<dt>Connectors</dt><dd id="cp-statuses" class="statuses">${connectorStatuses(detail)}</dd>
<dt>Transactions</dt><dd id="cp-transactions">${transactionsText(detail)}</dd>
<dt>Frame log</dt><dd><span id="cp-trace">${detail.tracedUntil ? `logged at info until ${ago(detail.tracedUntil)}` : 'at debug level only'}</span>
<button id="trace-on" type="button">Log its frames for 10 minutes</button> <button id="trace-off" type="button">Stop</button></dd>
</dl>`
    : `<p id="cp-missing" class="muted">Charge point ${escapeHtml(id)} is not connected.</p>`;
  const body = `${header(status, id, base)}
<main>
<section class="card wide">${info}</section>
<section class="card wide"><h2>Recent frames <small>newest last, capture runs while this page is open</small></h2>
${detail ? framesTable(detail) : ''}</section>
</main>`;
  return layout({ title: `${id} · tb-ocpp-gateway`, base, page: 'chargepoint', id, body });
}

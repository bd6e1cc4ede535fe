/**
 * The status page's style sheet and script, served as /static/style.css and /static/app.js (so
 * the Content-Security-Policy can forbid inline script). The script renders with DOM text nodes
 * only: values from charge points are never parsed as markup.
 */

export const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
header { display: flex; justify-content: space-between; align-items: baseline; padding: 12px 20px; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; } h1 a { color: inherit; }
h2 { font-size: 15px; margin: 0 0 8px; } h2 small { color: var(--muted); font-weight: normal; }
main { padding: 16px 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; align-items: start; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 16px; }
.wide { grid-column: 1 / -1; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
table.list { width: 100%; border-collapse: collapse; }
table.list th, table.list td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.list small { color: var(--muted); }
table.counters { border-collapse: collapse; margin: 0 0 8px; font-size: 13px; }
table.counters caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.counters th { font-weight: normal; color: var(--muted); text-align: left; padding: 1px 12px 1px 0; }
table.counters td { text-align: right; font-variant-numeric: tabular-nums; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
tr.in td:nth-child(2) { color: var(--ok); } tr.out td:nth-child(2) { color: #0969da; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; border: 1px solid var(--line); font-size: 12px; margin: 1px 0; }
.badge.ok, .s-available { color: var(--ok); border-color: var(--ok); }
.badge.bad, .s-faulted, .s-unavailable { color: var(--bad); border-color: var(--bad); }
.s-charging, .s-occupied, .s-preparing, .s-suspendedev, .s-suspendedevse, .s-finishing { color: #0969da; border-color: #0969da; }
.live { font-size: 12px; } .live.on { color: var(--ok); } .live.off { color: var(--warn); }
.muted, .meta { color: var(--muted); }
input[type=search] { width: 100%; max-width: 420px; padding: 5px 8px; margin-bottom: 8px; }
button { margin-left: 8px; }
`;

export const SCRIPT = `(function () {
  'use strict';
  var body = document.body;
  var page = body.getAttribute('data-page');
  var id = body.getAttribute('data-id');
  var base = page === 'chargepoint' ? '../' : '';
  var latest = null;

  function $(sel) { return document.getElementById(sel); }
  function text(el, value) { if (el) el.textContent = value == null ? '' : String(value); }
  function when(iso) { return iso ? String(iso).replace('T', ' ').slice(0, 19) : '\\u2014'; }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function latency(status) {
    var l = status.thingsboard.publish.latency;
    if (!l.count) return '\\u2014';
    function ms(s) { return s == null ? '?' : '\\u2264' + (s * 1000) + ' ms'; }
    return 'p50 ' + ms(l.p50) + ', p95 ' + ms(l.p95) + ' (' + l.count + ' acknowledged)';
  }
  function statuses(cp) {
    if (!cp.connectors.length) return [document.createTextNode('\\u2014')];
    return cp.connectors.map(function (c) {
      var label = (c.evseId == null ? c.connectorId : c.evseId + '/' + c.connectorId) + ': ' + c.status;
      return el('span', { 'class': 'badge s-' + String(c.status).toLowerCase() }, [label, ' ']);
    });
  }
  function transactions(cp) {
    if (!cp.transactions.length) return '\\u2014';
    return cp.transactions.map(function (t) {
      return t.id + (t.energyWh == null ? '' : ' \\u00b7 ' + (t.energyWh / 1000).toFixed(2) + ' kWh') +
        (t.idToken == null ? '' : ' \\u00b7 ' + t.idToken);
    }).join(', ');
  }
  function replace(node, children) {
    if (!node) return;
    while (node.firstChild) node.removeChild(node.firstChild);
    children.forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  }

  function renderHeader(status) {
    text($('uptime'), status.uptimeSeconds);
  }
  function renderLink(status) {
    var tb = status.thingsboard;
    var state = $('tb-state');
    if (state) { state.className = 'badge ' + (tb.connected ? 'ok' : 'bad'); text(state, tb.connected ? 'connected' : 'disconnected'); }
    text($('tb-since'), when(tb.since));
    text($('tb-endpoint'), tb.endpoint);
    text($('tb-failure'), tb.lastFailure ? tb.lastFailure.reason + ' at ' + when(tb.lastFailure.at) : '\\u2014');
    text($('backlog'), status.outbox.size);
    text($('backlog-age'), status.outbox.oldestAgeSeconds);
    text($('tb-last'), when(tb.publish.lastAckAt));
    text($('tb-latency'), latency(status));
    text($('tb-limits'), tb.sessionLimits ? JSON.stringify(tb.sessionLimits) : 'not reported');
    text($('tb-waits'), Object.keys(tb.rateLimitWaits).length ? JSON.stringify(tb.rateLimitWaits) : 'none');
    replace($('connectors'), status.connectors.map(function (c) {
      var versions = Object.keys(c.connectionsByVersion).map(function (v) { return v.replace(/^ocpp/, '') + ': ' + c.connectionsByVersion[v]; });
      return el('li', null, [c.name + ' \\u00b7 port ' + c.port + ' \\u00b7 ' + c.connections + ' connected' + (versions.length ? ' (' + versions.join(', ') + ')' : '')]);
    }));
  }
  function renderCounters(tables) {
    var grid = $('counters');
    if (!grid || !tables) return;
    replace(grid, tables.map(function (t) {
      return el('table', { 'class': 'counters' }, [el('caption', null, [t.title])].concat(t.rows.map(function (r) {
        return el('tr', null, [el('th', null, [r[0]]), el('td', null, [String(r[1])])]);
      })));
    }));
  }
  function matches(cp, filter) {
    if (!filter) return true;
    var hay = [cp.id, cp.device.name, cp.device.type, cp.ocppVersion, cp.remoteAddress]
      .concat(cp.connectors.map(function (c) { return c.status; })).join(' ').toLowerCase();
    return hay.indexOf(filter) >= 0;
  }
  function renderChargePoints(snapshot) {
    var tbody = document.querySelector('#chargepoints tbody');
    if (!tbody) return;
    var filterInput = $('filter');
    var filter = filterInput ? filterInput.value.trim().toLowerCase() : '';
    var rows = snapshot.chargePoints.filter(function (cp) { return matches(cp, filter); }).map(function (cp) {
      var link = el('a', { href: 'chargepoints/' + encodeURIComponent(cp.id) }, [cp.id]);
      var last = cp.lastMessage ? [cp.lastMessage.action || 'reply', el('br'), el('small', null, [when(cp.lastMessage.at)])] : ['\\u2014'];
      var tr = el('tr', { 'data-id': cp.id }, [
        el('td', null, [link]),
        el('td', null, [cp.device.name, el('br'), el('small', null, [cp.device.type])]),
        el('td', null, [cp.ocppVersion]),
        el('td', null, [when(cp.connectedSince)]),
        el('td', null, [cp.remoteAddress + ':' + cp.remotePort]),
        el('td', null, last),
        el('td', { 'class': 'statuses' }, statuses(cp)),
        el('td', null, [transactions(cp)])
      ]);
      return tr;
    });
    replace(tbody, rows);
    var shown = snapshot.chargePoints.length;
    text($('cp-count'), shown === snapshot.total ? snapshot.total : shown + ' of ' + snapshot.total);
    var empty = $('empty');
    if (empty) empty.hidden = snapshot.total !== 0;
  }
  function renderDetail(data) {
    var cp = data.chargePoint;
    renderHeader(data.status);
    if (!cp) { text($('cp-trace'), 'not connected'); return; }
    text($('cp-device'), cp.device.name + ' (' + cp.device.type + ')');
    text($('cp-version'), cp.ocppVersion + ' \\u00b7 connector ' + cp.connector);
    text($('cp-since'), when(cp.connectedSince) + ' from ' + cp.remoteAddress + ':' + cp.remotePort +
      (cp.securityProfile === undefined ? '' : ', security profile ' + cp.securityProfile));
    text($('cp-last'), cp.lastMessage ? (cp.lastMessage.action || 'reply') + ' at ' + when(cp.lastMessage.at) : '\\u2014');
    text($('cp-frames'), cp.frames.in + ' in, ' + cp.frames.out + ' out');
    replace($('cp-statuses'), statuses(cp));
    text($('cp-transactions'), transactions(cp));
    text($('cp-trace'), cp.tracedUntil ? 'logged at info until ' + when(cp.tracedUntil) : 'at debug level only');
    var tbody = document.querySelector('#frames tbody');
    if (tbody) {
      replace(tbody, cp.recentFrames.map(function (f) {
        return el('tr', { 'class': f.direction }, [el('td', { 'class': 'time' }, [String(f.at).slice(11, 23)]),
          el('td', null, [f.direction === 'in' ? '\\u21e6 in' : '\\u21e8 out']), el('td', null, [el('pre', null, [f.frame])])]);
      }));
    }
  }
  function trace(minutes) {
    fetch(base + 'api/trace', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ chargePointId: id, minutes: minutes })
    }).catch(function () { /* the next snapshot shows the state */ });
  }

  var on = $('trace-on'); if (on) on.addEventListener('click', function () { trace(10); });
  var off = $('trace-off'); if (off) off.addEventListener('click', function () { trace(0); });
  var filterBox = $('filter');
  if (filterBox) filterBox.addEventListener('input', function () { if (latest) renderChargePoints(latest); });

  if (typeof EventSource === 'undefined') return;
  var url = base + 'api/events' + (page === 'chargepoint' ? '?chargePoint=' + encodeURIComponent(id) : '');
  var source = new EventSource(url);
  var live = $('live');
  source.onopen = function () { if (live) { live.className = 'live on'; text(live, '\\u25cf live'); } };
  source.onerror = function () { if (live) { live.className = 'live off'; text(live, 'reconnecting\\u2026'); } };
  source.onmessage = function (event) {
    var data = JSON.parse(event.data);
    if (page === 'chargepoint') { renderDetail(data); return; }
    latest = data;
    renderHeader(data.status);
    renderLink(data.status);
    renderChargePoints(data);
    renderCounters(data.counters);
    body.setAttribute('data-updated', String(Date.now()));
  };
})();
`;

/**
 * outage (issue 3, store-and-forward): the broker is down while charge points keep sending.
 *
 * Per storage (memory, then sqlite), with a gateway of its own pointed at a broker port where
 * nothing listens yet (reconnect backoff 200 → 1,000 ms):
 *  1. N charge points boot; first a fixed rate (default 2,000/s, --rate) for min(5 s, D): the
 *     CALL→CALLRESULT latency the commit adds, below saturation. Then MeterValues as fast as they
 *     are answered for D seconds: answered/s into the outbox with no MQTT link. For sqlite the
 *     fixed-rate latency is the charge-point-visible cost of the group commit; memory under the
 *     same load is the reference. At full rate the closed loop makes latency ≈ N / throughput.
 *  2. Sending stops. Right after one of the gateway's failed reconnect attempts (its warning says
 *     when it retries), a fresh mosquitto starts on that port and an MQTT subscriber connects and
 *     subscribes to it before the gateway's next attempt. Then: when the first and the last backlog
 *     datapoint arrive, how many, duplicates, order per device, and how many answered MeterValues
 *     never arrived (must be 0).
 * No new data flows during the drain (not measured here).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeGatewayConfig } from '../lib/gateway-config.js';
import {
  freePort,
  LoadGenerator,
  now,
  procStats,
  sleep,
  startBroker,
  startGateway,
  waitForPort,
} from '../lib/processes.js';
import { mb, round, summarize } from '../lib/stats.js';
import { ThingsBoardSubscriber } from '../lib/thingsboard.js';
import { connectAll, stopStack } from './stack.js';

const RECONNECT = { reconnectMinMs: 200, reconnectMaxMs: 1000 };
/** Warnings every outage produces by design (one per failed reconnect attempt). */
const EXPECTED = /cannot reach ThingsBoard|lost the connection to ThingsBoard/;
const TIMESERIES_PER_MSG = 4;
let epochs = 300;

/** Waits (bounded) for a reconnect warning logged after `since` that leaves at least `minMs` to its retry. */
async function afterFailedAttempt(gw, since, minMs, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const w = gw.lastWarning;
    if (w && w.at > since && EXPECTED.test(w.entry.msg ?? '') && (w.entry.retryInMs ?? 0) >= minMs)
      return w.entry;
    await sleep(5);
  }
  return undefined;
}

/** Per charge point (index = seq / 1e7 within the epoch), are arrivals in increasing seq order? */
function outOfOrder(arrivals) {
  const last = new Map();
  let bad = 0;
  for (const seq of arrivals.keys()) {
    const cp = Math.floor((seq % 1e12) / 1e7);
    if ((last.get(cp) ?? -1) > seq) bad++;
    last.set(cp, seq);
  }
  return bad;
}

async function one(ctx, storage, { n, durationS, rate }) {
  const tag = `outage-${storage}`;
  const dir = join(ctx.dir, tag);
  mkdirSync(dir, { recursive: true });
  const brokerPort = await freePort();
  const cfg = await writeGatewayConfig(dir, {
    brokerPort,
    storage,
    attribute: ctx.args.attribute,
    tag,
    thingsboard: RECONNECT,
  });
  const gw = await startGateway(ctx.children, cfg.file, {
    cli: ctx.args.cli,
    nodeOptions: ctx.args.gatewayNodeOptions,
  });
  const stack = { gw, tag, storage };
  let broker;
  let tb;
  try {
    await waitForPort(cfg.port, 20_000, () => !gw.exited());
    stack.load = new LoadGenerator(ctx.children);
    const c = await connectAll(ctx, stack, cfg.url, { count: n });

    // Phase 1a: broker down, a fixed rate below saturation: the commit's own latency (at full
    // rate the closed loop makes latency ≈ N / throughput, whatever the storage).
    const epoch = ++epochs;
    const fixedMs = Math.min(5_000, durationS * 1000);
    const f = await stack.load.request('latency', { rate, durationMs: fixedMs, epoch }, fixedMs + 120_000);
    let fixedAnswered = 0;
    const fixedCp = new Float64Array(f.total);
    for (let k = 0; k < f.total; k++) {
      fixedCp[k] = f.tRecv[k] - f.tSend[k];
      if (Number.isFinite(f.tRecv[k])) fixedAnswered++;
    }
    const fixed = { rate, total: f.total, answered: fixedAnswered, queued: f.queued, cp: summarize(fixedCp) };
    ctx.log(
      `  broker down, ${rate}/s: CALL→CALLRESULT p50/p99 ${fixed.cp.p50}/${fixed.cp.p99} ms (${fixedAnswered}/${f.total} answered)`,
    );

    // Phase 1b: broker down, charge points at full rate (same epoch: one backlog).
    const cpu0 = procStats(gw.pid).cpu;
    const r = await stack.load.request(
      'throughput',
      { durationMs: durationS * 1000, epoch },
      durationS * 1000 + 120_000,
    );
    const tStopped = now();
    const backlog = fixedAnswered + r.answered;
    const down = {
      fixed,
      booted: c.ok,
      sent: r.sent,
      answered: r.answered,
      errors: r.errors,
      rate: round(r.answered / ((r.tLast - r.t0) / 1000), 0),
      cpLatency: r.cpLatency,
      gatewayCpuS: round(procStats(gw.pid).cpu - cpu0, 2),
      rssMB: mb(procStats(gw.pid).rss),
    };
    ctx.log(
      `  broker down: ${down.answered} answered (${down.rate}/s), CALL→CALLRESULT p50/p99 ${r.cpLatency.p50}/${r.cpLatency.p99} ms`,
    );

    // Phase 2: the broker comes back, the subscriber first.
    const attempt = await afterFailedAttempt(gw, tStopped, 500, 5_000);
    if (!attempt) ctx.log('  ! no reconnect warning seen: the subscriber may miss the first publishes');
    const tStart = now();
    broker = await startBroker(ctx.children, dir, { port: brokerPort, tag: `-${tag}` });
    tb = await ThingsBoardSubscriber.connect(brokerPort);
    tb.reset({ trackSeqs: true, epoch });
    const tSubscribed = now();
    const deadlineMs = Math.max(30_000, backlog / 2); // ≥ 2,000 msgs/s, or it is reported short
    const drained = await tb.waitForEntries(backlog, deadlineMs);
    await sleep(500); // late duplicates, if any
    const unique = tb.arrivals.size;
    const first = tb.firstTelemetry;
    const last = tb.lastTelemetry;
    const spanS = first !== undefined ? (last - first) / 1000 : NaN;
    const drain = {
      drained,
      backlog,
      arrived: tb.entries,
      unique,
      duplicates: tb.entries - unique,
      missing: Math.max(0, backlog - unique),
      outOfOrder: outOfOrder(tb.arrivals),
      devicesAnnounced: tb.connected.size,
      subscribedAfterMs: round(tSubscribed - tStart, 0),
      retryInMsAtBrokerStart: attempt?.retryInMs,
      firstAfterMs: first !== undefined ? round(first - tStart, 0) : undefined,
      spanS: round(spanS, 2),
      msgRate: round(tb.entries / spanS, 0),
      timeseriesRate: round((tb.entries * TIMESERIES_PER_MSG) / spanS, 0),
      publishes: { ...tb.publishes },
      messagesPerTelemetryPublish: round(tb.allEntries / Math.max(1, tb.publishes.telemetry), 1),
    };
    ctx.log(
      `  drain: ${unique}/${backlog} arrived in ${drain.spanS} s (${drain.msgRate} MeterValues/s), first ${drain.firstAfterMs} ms after the broker start; missing ${drain.missing}, duplicates ${drain.duplicates}`,
    );
    return { down, drain };
  } finally {
    await tb?.close();
    await stopStack(ctx, stack);
    await ctx.children.stop(broker?.child, 5_000);
    const unexpected = gw.warningList().filter((w) => !EXPECTED.test(w.msg));
    if (unexpected.length > 0) ctx.log(`  ! gateway: ${JSON.stringify(unexpected).slice(0, 600)}`);
  }
}

export async function outage(ctx, { n, durationS, rate }) {
  const out = {};
  for (const storage of ['memory', 'sqlite']) {
    if (ctx.interrupted) break;
    ctx.log(`outage: storage ${storage}, ${n} charge points, broker down for ${durationS} s of load`);
    out[storage] = await one(ctx, storage, { n, durationS, rate });
  }
  for (const storage of Object.keys(out)) {
    const { down, drain } = out[storage];
    const cfg = `${storage}, N=${n}, broker down`;
    const fc = down.fixed.cp;
    ctx.row(
      'outage',
      `${cfg}, ${rate}/s`,
      'CALL→CALLRESULT p50 / p99 / max',
      `${fc.p50} / ${fc.p99} / ${fc.max}`,
      'ms',
    );
    ctx.row('outage', cfg, 'MeterValues/s answered into the outbox (full rate)', down.rate, 'msg/s');
    ctx.row(
      'outage',
      cfg,
      'CALL→CALLRESULT p50 / p99 (full rate)',
      `${down.cpLatency.p50} / ${down.cpLatency.p99}`,
      'ms',
    );
    const d = `${storage}, N=${n}, drain`;
    ctx.row('outage', d, 'backlog (MeterValues answered while down)', drain.backlog, 'msgs');
    ctx.row(
      'outage',
      d,
      'first datapoint after broker start (gateway backoff left)',
      `${drain.firstAfterMs} (${drain.retryInMsAtBrokerStart ?? '?'})`,
      'ms',
    );
    ctx.row(
      'outage',
      d,
      'drain rate, MeterValues/s (timeseries values/s)',
      `${drain.msgRate} (${drain.timeseriesRate})`,
      '/s',
    );
    ctx.row('outage', d, 'first → last arrival', drain.spanS, 's');
    ctx.row('outage', d, 'answered but missing on MQTT', drain.missing, 'msgs', '0', drain.missing === 0);
    ctx.row('outage', d, 'devices re-announced on MQTT', `${drain.devicesAnnounced}/${down.booted}`, '');
    ctx.row(
      'outage',
      d,
      'duplicates / out of order per device',
      `${drain.duplicates} / ${drain.outOfOrder}`,
      '',
    );
  }
  if (out.memory && out.sqlite) {
    const m = out.memory.down.fixed.cp;
    const s = out.sqlite.down.fixed.cp;
    ctx.row(
      'outage',
      `sqlite − memory, N=${n}, broker down, ${rate}/s`,
      'commit latency added, p50 / p99',
      `${round(s.p50 - m.p50)} / ${round(s.p99 - m.p99)}`,
      'ms',
    );
  }
  return out;
}

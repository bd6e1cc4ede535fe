/**
 * ratelimited (issue 9): ThingsBoard enforces rate limits and the charge points offer far more.
 *
 * A broker playing such a ThingsBoard (bench/lib/limited-thingsboard.js) announces, with
 * getSessionLimits, gatewayRateLimits of `limit` telemetry datapoints a second (plus telemetry
 * messages and messages limits that do not bind first), and cuts the gateway off at the first
 * violation. N charge points send MeterValues (4 timeseries + 1 attribute each) at a fixed total
 * rate for D seconds — about five times what the limit admits. Measured: how fast the charge
 * points are answered (they must not feel the limit), the backlog when the load stops, the publish
 * rate ThingsBoard sees against its limit and the 80 % share the gateway aims at (mean, and the
 * most in any one-second window), the drain time, violations (must be 0) and loss (must be 0).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeGatewayConfig } from '../lib/gateway-config.js';
import { LimitedThingsBoard } from '../lib/limited-thingsboard.js';
import { LoadGenerator, now, procStats, sleep, startGateway, waitForPort } from '../lib/processes.js';
import { mb, round, summarize } from '../lib/stats.js';

const TIMESERIES_PER_MSG = 4;
let epochs = 500;

export async function ratelimited(ctx, { n, rate, durationS, limit }) {
  const tag = 'ratelimited-memory';
  const dir = join(ctx.dir, tag);
  mkdirSync(dir, { recursive: true });
  const limits = {
    maxPayloadSize: 65536,
    maxInflightMessages: 100,
    rateLimits: { messages: '100:1', telemetryMessages: '100:1', telemetryDataPoints: '1000:1' },
    gatewayRateLimits: {
      messages: `${limit}:1`,
      telemetryMessages: `${limit}:1`,
      telemetryDataPoints: `${limit}:1,${limit * 60}:60`,
    },
  };
  const tb = await LimitedThingsBoard.start(limits);
  const cfg = await writeGatewayConfig(dir, { brokerPort: tb.port, storage: 'memory', tag });
  const gw = await startGateway(ctx.children, cfg.file, {
    cli: ctx.args.cli,
    nodeOptions: ctx.args.gatewayNodeOptions,
  });
  let load;
  try {
    ctx.log(
      `ratelimited: ${n} charge points, ${rate} MeterValues/s for ${durationS} s against ${limit} datapoints/s`,
    );
    await waitForPort(cfg.port, 20_000, () => !gw.exited());
    load = new LoadGenerator(ctx.children);
    const c = await load.request(
      'connect',
      { url: cfg.url, from: 0, count: n, concurrency: 200, timeoutMs: 60_000 },
      120_000,
    );
    const epoch = ++epochs;
    const t0 = now();
    const r = await load.request(
      'latency',
      { rate, durationMs: durationS * 1000, epoch },
      durationS * 1000 + 120_000,
    );
    const tLoadEnd = now();
    const seqs = [];
    const cpLatency = new Float64Array(r.total);
    for (let k = 0; k < r.total; k++) {
      cpLatency[k] = r.tRecv[k] - r.tSend[k];
      if (Number.isFinite(r.tRecv[k])) seqs.push(r.seqs[k]);
    }
    const arrivedAt = () => seqs.reduce((m, s) => m + (tb.seqs.has(s) ? 1 : 0), 0);
    const backlog = seqs.length - arrivedAt();
    // The drain takes backlog × 4 / (80 % of limit) seconds: wait twice that, and at least 30 s.
    const deadline = now() + Math.max(30_000, ((backlog * TIMESERIES_PER_MSG) / (limit * 0.8)) * 2000);
    let arrived = arrivedAt();
    while (arrived < seqs.length && now() < deadline && tb.violations.length === 0) {
      await sleep(200);
      arrived = arrivedAt();
    }
    await sleep(500); // late duplicates, if any
    const inLoad = tb.arrivals.filter(([t]) => t >= t0);
    const first = inLoad[0]?.[0];
    const last = inLoad.at(-1)?.[0];
    const datapoints = inLoad.reduce((s, [, dp]) => s + dp, 0);
    let duplicates = 0;
    for (const s of seqs) duplicates += Math.max(0, (tb.seqs.get(s) ?? 0) - 1);
    const offeredDp = (seqs.length * TIMESERIES_PER_MSG) / ((tLoadEnd - t0) / 1000);
    return {
      n,
      connected: c.connected,
      limit,
      limits,
      offered: {
        rate: round(seqs.length / ((tLoadEnd - t0) / 1000), 0),
        timeseriesPerSecond: round(offeredDp, 0),
        timesTheLimit: round(offeredDp / limit, 1),
      },
      answered: seqs.length,
      sent: r.total,
      cpLatency: summarize(cpLatency),
      backlogAtLoadEnd: backlog,
      arrived,
      missing: seqs.length - arrived,
      duplicates,
      violations: tb.violations.length,
      violationList: tb.violations.slice(0, 10),
      reconnects: tb.connections - 1,
      publishRate: {
        datapointsPerSecond: first !== undefined ? round(datapoints / ((last - first) / 1000), 0) : 0,
        maxIn1s: tb.maxInWindow(1000),
        maxIn60s: tb.maxInWindow(60_000),
        telemetryPublishes: tb.publishes,
      },
      drainS: last !== undefined ? round((last - tLoadEnd) / 1000, 1) : NaN,
      gatewayRssMB: mb(procStats(gw.pid).rss),
    };
  } finally {
    await ctx.children.stop(gw.child, 15_000);
    if (load) await ctx.children.stop(load.child, 5_000);
    await tb.close();
    const warnings = gw.warningList();
    if (warnings.length > 0) ctx.details.gatewayWarnings.push({ stack: tag, warnings });
  }
}

export function ratelimitedRows(ctx, r) {
  const cfg = `memory, N=${r.n}, limit ${r.limit} dp/s`;
  ctx.row(
    'ratelimited',
    cfg,
    'offered: MeterValues/s (timeseries/s, × the limit)',
    `${r.offered.rate} (${r.offered.timeseriesPerSecond}, ×${r.offered.timesTheLimit})`,
    '/s',
  );
  ctx.row('ratelimited', cfg, 'CALL→CALLRESULT p50 / p99', `${r.cpLatency.p50} / ${r.cpLatency.p99}`, 'ms');
  ctx.row('ratelimited', cfg, 'backlog when the load stopped', r.backlogAtLoadEnd, 'msgs');
  ctx.row(
    'ratelimited',
    cfg,
    'datapoints/s ThingsBoard received (mean; 80 % share)',
    `${r.publishRate.datapointsPerSecond} (${Math.floor(r.limit * 0.8)})`,
    '/s',
    `<= ${r.limit}`,
    r.publishRate.datapointsPerSecond <= r.limit,
  );
  // A bucket of capacity C refilled at C/s admits up to 2C within one second (full, then refilled).
  ctx.row(
    'ratelimited',
    cfg,
    'most datapoints in any 1 s window (ThingsBoard admits 2 × limit)',
    r.publishRate.maxIn1s,
    'dp',
    `<= ${2 * r.limit}`,
    r.publishRate.maxIn1s <= 2 * r.limit,
  );
  ctx.row('ratelimited', cfg, 'drain: load end → last datapoint', r.drainS, 's');
  ctx.row(
    'ratelimited',
    cfg,
    'violations (connection cut by ThingsBoard)',
    r.violations,
    '',
    '0',
    r.violations === 0,
  );
  ctx.row('ratelimited', cfg, 'answered but missing', r.missing, 'msgs', '0', r.missing === 0);
  ctx.row('ratelimited', cfg, 'duplicates', r.duplicates, 'msgs');
}

/**
 * latency: a fixed total rate (default 2,000 MeterValues/s from 1,000 charge points, one every
 * 500 ms each). Reported: charge-point-visible latency (CALL written → CALLRESULT read) and end
 * to end (CALL written → the datapoint with that sequence number read from MQTT).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { topFunctions } from '../lib/inspector.js';
import { round, summarize } from '../lib/stats.js';
import { now } from '../lib/processes.js';
import { connectAll, cpuDelta, cpuSnapshot, startStack, stopStack } from './stack.js';

const TARGET_CP_P99_SQLITE = 25;
const TARGET_E2E_P99 = 100;

let epochs = 100;

async function run(ctx, stack, rate, durationMs) {
  const epoch = ++epochs;
  ctx.tb.reset({ trackSeqs: true, epoch });
  const cpu0 = cpuSnapshot(ctx, stack);
  const r = await stack.load.request('latency', { rate, durationMs, epoch }, durationMs + 120_000);
  let answered = 0;
  for (const t of r.tRecv) if (Number.isFinite(t)) answered++;
  // Bounded wait; a datapoint still missing then counts with the time waited so far, so the
  // percentiles are lower bounds (and marked so) instead of silently leaving the slowest out.
  await ctx.tb.waitForEntries(answered, Math.max(2_000, durationMs));
  const gaveUp = now();
  const cpu = cpuDelta(cpu0, cpuSnapshot(ctx, stack));
  const cp = new Float64Array(r.total);
  const e2e = new Float64Array(r.total);
  let missing = 0;
  for (let k = 0; k < r.total; k++) {
    cp[k] = r.tRecv[k] - r.tSend[k];
    const arrived = ctx.tb.arrivals.get(r.seqs[k]);
    if (arrived === undefined) missing++;
    e2e[k] = (arrived ?? gaveUp) - r.tSend[k];
  }
  return {
    cps: r.cps,
    total: r.total,
    answered,
    errors: r.errors,
    queued: r.queued,
    maxSchedulingLagMs: round(r.maxSchedulingLagMs),
    achievedRate: round(r.total / ((Math.max(...r.tSend.filter(Number.isFinite)) - r.t0) / 1000), 0),
    missingOnMqtt: missing,
    cp: summarize(cp),
    e2e: summarize(e2e),
    cpu,
  };
}

export async function latency(ctx, { n, rate, durationS, warmS, storages }) {
  const out = {};
  for (const storage of storages) {
    ctx.log(`latency: storage ${storage}, ${rate} msg/s from ${n} charge points, ${durationS} s`);
    const stack = await startStack(ctx, { storage, tag: `latency-${storage}` });
    try {
      await connectAll(ctx, stack, stack.url, { count: n });
      if (warmS > 0) await run(ctx, stack, rate, warmS * 1000);
      let profile;
      if (ctx.args.profile) await stack.inspector.startProfile();
      const m = await run(ctx, stack, rate, durationS * 1000);
      if (ctx.args.profile) {
        const p = await stack.inspector.stopProfile();
        const file = join(ctx.resultsDir, `${ctx.stamp}-latency-${storage}.cpuprofile`);
        writeFileSync(file, JSON.stringify(p));
        profile = { file, top: topFunctions(p, 30) };
      }
      out[storage] = { ...m, profile };
      const cfg = `${storage}, ${rate}/s, N=${n}`;
      const cpTarget = storage === 'sqlite' ? `p99 < ${TARGET_CP_P99_SQLITE} ms` : undefined;
      ctx.row(
        'latency',
        cfg,
        'CALL→CALLRESULT p50 / p99 / max',
        `${m.cp.p50} / ${m.cp.p99} / ${m.cp.max}`,
        'ms',
        cpTarget,
        cpTarget ? m.cp.p99 < TARGET_CP_P99_SQLITE : undefined,
      );
      ctx.row(
        'latency',
        cfg,
        'CALL→MQTT p50 / p99 / max',
        // Datapoints still missing count with the time waited: the percentiles are lower bounds.
        `${m.missingOnMqtt > 0 ? '>= ' : ''}${m.e2e.p50} / ${m.e2e.p99} / ${m.e2e.max}`,
        'ms',
        `p99 < ${TARGET_E2E_P99} ms`,
        m.e2e.p99 < TARGET_E2E_P99 && m.missingOnMqtt === 0,
      );
      ctx.row(
        'latency',
        cfg,
        'sent / answered / missing on MQTT',
        `${m.total} / ${m.answered} / ${m.missingOnMqtt}`,
        '',
      );
      ctx.log(
        `  CP p50/p99/max ${m.cp.p50}/${m.cp.p99}/${m.cp.max} ms; e2e ${m.e2e.p50}/${m.e2e.p99}/${m.e2e.max} ms; ${m.achievedRate} msg/s achieved`,
      );
    } finally {
      await stopStack(ctx, stack);
    }
  }
  return out;
}

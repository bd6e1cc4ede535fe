/**
 * idle: charge points connect, boot and send one Heartbeat, then stay connected. Measured after
 * each step (e.g. 1k, 5k, 10k): the gateway's RSS (/proc/<pid>/status VmRSS) and V8 heap used
 * (through the inspector, after a forced full GC) above the idle process, per charge point.
 * Run with permessage-deflate offered and accepted (compression on) and without; and, for
 * reference, the same connections to the bare `ws` server (RSS only).
 */
import { kb, mb, round } from '../lib/stats.js';
import { procStats, sleep, startBaseline, LoadGenerator } from '../lib/processes.js';
import { connectAll, startStack, stopStack } from './stack.js';

const TARGET_N = 10_000;
const TARGET_KB_PER_CP = 12;
const TARGET_TOTAL_MB = 256;

async function measure(stack, settleMs) {
  await sleep(settleMs);
  const heap = stack.inspector ? await stack.inspector.heapAfterGc() : {};
  await sleep(300);
  return { ...procStats(stack.gw?.pid ?? stack.server.pid), ...heap };
}

export async function idle(ctx, { sizes, compressionModes, storage, settleMs }) {
  const out = { sizes, runs: [] };
  for (const compression of compressionModes) {
    const label = `compression ${compression ? 'on' : 'off'}`;
    ctx.log(`idle: ${label}, storage ${storage}, sizes ${sizes.join('/')}`);
    const stack = await startStack(ctx, {
      storage,
      compression,
      inspect: true,
      tag: `idle-${compression ? 'z' : 'plain'}`,
    });
    const run = { compression, storage, steps: [] };
    out.runs.push(run);
    try {
      run.base = await measure(stack, settleMs);
      ctx.row('idle', label, 'gateway RSS, idle process', mb(run.base.rss), 'MB');
      let connected = 0;
      for (const size of sizes) {
        const r = await connectAll(ctx, stack, stack.url, {
          from: connected,
          count: size - connected,
          compression,
        });
        connected = size;
        const m = await measure(stack, settleMs);
        const step = {
          n: size,
          booted: r.connected,
          connectMs: round(r.ms),
          connectPerSec: round((r.ok / r.ms) * 1000, 0),
          ...m,
          rssPerCp: (m.rss - run.base.rss) / size,
          heapPerCp: (m.heapUsed - run.base.heapUsed) / size,
        };
        run.steps.push(step);
        const atTarget = size === TARGET_N;
        ctx.row(
          'idle',
          `${label}, N=${size}`,
          'RSS per charge point above idle',
          kb(step.rssPerCp),
          'KB',
          `<= ${TARGET_KB_PER_CP} KB @10k`,
          atTarget ? step.rssPerCp <= TARGET_KB_PER_CP * 1024 : undefined,
        );
        ctx.row('idle', `${label}, N=${size}`, 'heap per charge point above idle', kb(step.heapPerCp), 'KB');
        ctx.row(
          'idle',
          `${label}, N=${size}`,
          'gateway RSS total',
          mb(m.rss),
          'MB',
          `< ${TARGET_TOTAL_MB} MB @10k`,
          atTarget ? m.rss < TARGET_TOTAL_MB * 1_048_576 : undefined,
        );
        ctx.row(
          'idle',
          `${label}, N=${size}`,
          'booted (of N)',
          `${r.connected}/${size}`,
          '',
          undefined,
          r.failed === 0 ? undefined : false,
        );
        ctx.log(
          `  N=${size}: RSS ${mb(m.rss)} MB (${kb(step.rssPerCp)} KB/CP), heap ${mb(m.heapUsed)} MB (${kb(step.heapPerCp)} KB/CP), connect ${step.connectPerSec}/s`,
        );
      }
    } finally {
      await stopStack(ctx, stack);
    }
  }
  if (ctx.args.idleBare) out.bare = await bareWs(ctx, sizes[sizes.length - 1], settleMs);
  return out;
}

/** The same N connections held by the bare ws + Ajv server: what a WebSocket costs by itself. */
async function bareWs(ctx, n, settleMs) {
  ctx.log(`idle: bare ws server, N=${n}`);
  const server = await startBaseline(ctx.children);
  const stack = { server, load: new LoadGenerator(ctx.children), tag: 'idle-bare' };
  try {
    const base = await measure(stack, settleMs);
    const r = await connectAll(ctx, stack, server.url, { count: n });
    const m = await measure(stack, settleMs);
    const perCp = (m.rss - base.rss) / n;
    ctx.row('idle', `bare ws server, N=${n}`, 'RSS per connection above idle', kb(perCp), 'KB');
    ctx.log(`  bare ws: RSS ${mb(m.rss)} MB (${kb(perCp)} KB/connection)`);
    return { n, booted: r.connected, base, ...m, rssPerCp: perCp };
  } finally {
    await stopStack(ctx, stack);
  }
}

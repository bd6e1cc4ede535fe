/**
 * rpc: ThingsBoard sends one RPC (`rpc1`, mapped to a DataTransfer) to each of N devices at
 * once, several rounds. Each simulated charge point answers Accepted; the round trip runs from
 * the MQTT publish of the request to the arrival of the gateway's reply on v1/gateway/rpc.
 */
import { now } from '../lib/processes.js';
import { round, summarize } from '../lib/stats.js';
import { connectAll, cpuDelta, cpuSnapshot, startStack, stopStack } from './stack.js';

export async function rpc(ctx, { n, rounds, storage }) {
  ctx.log(`rpc: ${rounds} rounds of one RPC to each of ${n} devices, storage ${storage}`);
  const stack = await startStack(ctx, { storage, tag: `rpc-${storage}` });
  try {
    await connectAll(ctx, stack, stack.url, { count: n });
    const devices = Array.from({ length: n }, (_, i) => `CP${i}`);
    const all = [];
    const perRound = [];
    let failed = 0;
    const errors = {};
    const cpu0 = cpuSnapshot(ctx, stack);
    for (let round_ = 0; round_ < rounds; round_++) {
      const t0 = now();
      const replies = await Promise.all(
        devices.map((d, i) => ctx.tb.rpc(d, round_ * n + i + 1, 'rpc1', { round: round_, n: i }, 60_000)),
      );
      const wallMs = now() - t0;
      for (const r of replies) {
        const bad = !Number.isFinite(r.ms) ? r.error : r.data?.error;
        if (bad) {
          failed++;
          errors[bad] = (errors[bad] ?? 0) + 1;
        } else all.push(r.ms);
      }
      perRound.push({ wallMs: round(wallMs), ...summarize(replies.map((r) => r.ms)) });
    }
    const cpu = cpuDelta(cpu0, cpuSnapshot(ctx, stack));
    const s = summarize(all);
    const totalWall = perRound.reduce((a, r) => a + r.wallMs, 0);
    const stats = await stack.load.request('stats');
    const result = {
      devices: n,
      rounds,
      ok: all.length,
      failed,
      errors,
      roundTrip: s,
      repliesPerSec: round(all.length / (totalWall / 1000), 0),
      perRound,
      answeredByChargePoints: stats.rpcAnswered,
      cpu,
    };
    const cfg = `${storage}, ${n} devices × ${rounds}`;
    ctx.row('rpc', cfg, 'round trip p50 / p99 / max', `${s.p50} / ${s.p99} / ${s.max}`, 'ms');
    ctx.row('rpc', cfg, 'replies per second (burst)', result.repliesPerSec, '/s');
    ctx.row('rpc', cfg, 'failed', failed, '', '0', failed === 0);
    ctx.log(
      `  round trip p50/p99/max ${s.p50}/${s.p99}/${s.max} ms, ${result.repliesPerSec} replies/s, failed ${failed}`,
    );
    return result;
  } finally {
    await stopStack(ctx, stack);
  }
}

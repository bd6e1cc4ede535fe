/**
 * storm: N booted charge points all lose their connection at once (TCP reset, no close frame)
 * and reconnect at once: upgrade + BootNotification + StatusNotification, no retries. Reported
 * per round and for the worst round: time from the drop until all are accepted, how many were
 * refused (and why), when ThingsBoard had seen every device announced again, and the kernel's
 * listen-queue overflow and SYN retransmit counters over the storm (system-wide, from
 * /proc/net/netstat: nothing else on the machine should be opening connections meanwhile).
 */
import { readFileSync } from 'node:fs';
import { sleep } from '../lib/processes.js';
import { round } from '../lib/stats.js';
import { connectAll, cpuDelta, cpuSnapshot, startStack, stopStack } from './stack.js';

const TARGET_N = 10_000;
const TARGET_S = 30;
const COUNTERS = ['ListenOverflows', 'ListenDrops', 'TCPSynRetrans', 'TCPReqQFullDoCookies'];

function tcpExt() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    return Object.fromEntries(COUNTERS.map((c) => [c, Number(values[names.indexOf(c)] ?? NaN)]));
  } catch {
    return {};
  }
}

async function waitForAnnounced(ctx, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (ctx.tb.connected.size < count && Date.now() < deadline) await sleep(50);
}

async function oneStorm(ctx, stack) {
  ctx.tb.reset();
  const cpu0 = cpuSnapshot(ctx, stack);
  const net0 = tcpExt();
  const r = await stack.load.request(
    'storm',
    { url: stack.url, sourceIps: ctx.sourceIps, timeoutMs: 60_000 },
    240_000,
  );
  const net1 = tcpExt();
  await waitForAnnounced(ctx, r.accepted, 60_000);
  const kernel = Object.fromEntries(Object.keys(net0).map((k) => [k, net1[k] - net0[k]]));
  return {
    cps: r.cps,
    accepted: r.accepted,
    refused: r.refused,
    reasons: r.reasons,
    allAcceptedS: r.allAcceptedMs === undefined ? undefined : round(r.allAcceptedMs / 1000, 2),
    lastAcceptedS: round((r.acceptedAt.max ?? NaN) / 1000, 2),
    acceptedAt: r.acceptedAt,
    opened: r.opened,
    mqttConnectsSeen: ctx.tb.connected.size,
    mqttAllAnnouncedS:
      ctx.tb.connected.size >= r.accepted && ctx.tb.lastConnect
        ? round((ctx.tb.lastConnect - r.t0) / 1000, 2)
        : undefined,
    kernel,
    cpu: cpuDelta(cpu0, cpuSnapshot(ctx, stack)),
  };
}

export async function storm(ctx, { n, storage, rounds }) {
  ctx.log(`storm: ${n} charge points, storage ${storage}, ${rounds} round(s)`);
  const stack = await startStack(ctx, { storage, tag: `storm-${storage}` });
  try {
    const c = await connectAll(ctx, stack, stack.url, { count: n });
    // Let the first wave of connects reach MQTT before the drop.
    await waitForAnnounced(ctx, n, 60_000);
    await sleep(1000);
    const all = [];
    for (let i = 0; i < rounds; i++) {
      const s = await oneStorm(ctx, stack);
      all.push(s);
      ctx.log(
        `  round ${i + 1}: all accepted after ${s.allAcceptedS ?? '—'} s, refused ${s.refused} ${JSON.stringify(s.reasons)}, ` +
          `listen overflows ${s.kernel.ListenOverflows}, SYN retransmits ${s.kernel.TCPSynRetrans}`,
      );
      await sleep(1000);
    }
    // The worst round decides: a storm is a tail event.
    const worst = all.reduce((w, s) =>
      s.refused > w.refused ||
      (s.refused === w.refused && (s.lastAcceptedS ?? Infinity) > (w.lastAcceptedS ?? Infinity))
        ? s
        : w,
    );
    const atTarget = n >= TARGET_N;
    const cfg = `${storage}, N=${n}, worst of ${rounds}`;
    const allS = worst.allAcceptedS ?? `not all (${worst.accepted}/${worst.cps})`;
    ctx.row(
      'storm',
      cfg,
      'time until all re-accepted',
      allS,
      's',
      `<= ${TARGET_S} s @10k`,
      atTarget ? worst.allAcceptedS !== undefined && worst.allAcceptedS <= TARGET_S : undefined,
    );
    ctx.row('storm', cfg, 'refused', worst.refused, '', '0', worst.refused === 0);
    ctx.row(
      'storm',
      cfg,
      'accepted at p50 / p99 (from drop)',
      `${worst.acceptedAt.p50} / ${worst.acceptedAt.p99}`,
      'ms',
    );
    ctx.row(
      'storm',
      cfg,
      'upgrade done at p50 / p99 / max',
      `${worst.opened.p50} / ${worst.opened.p99} / ${worst.opened.max}`,
      'ms',
    );
    ctx.row(
      'storm',
      cfg,
      'devices re-announced on MQTT (at)',
      `${worst.mqttConnectsSeen}/${n} (${worst.mqttAllAnnouncedS ?? '—'} s)`,
      '',
    );
    ctx.row(
      'storm',
      cfg,
      'listen overflows / SYN retransmits',
      `${worst.kernel.ListenOverflows} / ${worst.kernel.TCPSynRetrans}`,
      '',
    );
    ctx.row(
      'storm',
      `${storage}, N=${n}`,
      'each round: all accepted after',
      all.map((s) => s.allAcceptedS ?? '—').join(' / '),
      's',
    );
    return { cps: n, initialConnectMs: round(c.ms), rounds: all, worst };
  } finally {
    await stopStack(ctx, stack);
  }
}

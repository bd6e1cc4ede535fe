/**
 * slow-reader (issue 8, opt-in): charge points that keep sending CALLs but never read their
 * answers. Before the send-buffer bound the answers piled up in the gateway without end (92 →
 * 482 MB in 15 s for one peer). Now reading from such a peer pauses once maxSendBufferSize
 * (default 1 MiB) waits for it, and the peer is disconnected after sendStallTimeout (default 30 s).
 *
 * K attackers (default 4, --n) each open a connection, stop reading on their side and send
 * unknown-action CALLs (each answered with a ~300-byte CALLERROR) as fast as their socket takes
 * them for D seconds (default 15, --duration); an attacker's own unsent backlog is capped at
 * 64 MB. The gateway's RSS is sampled every 250 ms. At the end a well-behaved charge point must
 * still get its Heartbeat answered. Figures: idle RSS, peak and final RSS, frames sent.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { writeGatewayConfig } from '../lib/gateway-config.js';
import { procStats, sleep, startGateway, waitForPort } from '../lib/processes.js';
import { mb } from '../lib/stats.js';
import { stopStack } from './stack.js';

const ACTION = 'X'.repeat(240);
const ATTACKER_BACKLOG_CAP = 64 * 1024 * 1024;

function open(url, protocol = 'ocpp1.6') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [protocol]);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export async function slowReader(ctx, { n, durationS }) {
  const tag = 'slow-reader';
  const dir = join(ctx.dir, tag);
  mkdirSync(dir, { recursive: true });
  const cfg = await writeGatewayConfig(dir, { brokerPort: ctx.broker.port, storage: 'memory', tag });
  const gw = await startGateway(ctx.children, cfg.file, {
    cli: ctx.args.cli,
    nodeOptions: ctx.args.gatewayNodeOptions,
  });
  const stack = { gw, tag, storage: 'memory' };
  const attackers = [];
  try {
    await waitForPort(cfg.port, 20_000, () => !gw.exited());
    await sleep(1000);
    const idle = procStats(gw.pid).rss;
    let sent = 0;
    let closedByGateway = 0;
    for (let i = 0; i < n; i++) {
      const ws = await open(`${cfg.url}/CP_ATTACK${i}`);
      ws._socket.pause(); // never read what the gateway sends
      ws.once('close', () => closedByGateway++);
      attackers.push(ws);
    }
    let peak = idle;
    const sampler = setInterval(() => {
      const rss = procStats(gw.pid).rss;
      if (rss > peak) peak = rss;
    }, 250);
    const until = Date.now() + durationS * 1000;
    let id = 0;
    while (Date.now() < until && !gw.exited()) {
      for (const ws of attackers) {
        if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > ATTACKER_BACKLOG_CAP) continue;
        for (let k = 0; k < 500; k++) ws.send(`[2,"${++id}","${ACTION}",{}]`);
        sent += 500;
      }
      await sleep(2);
    }
    clearInterval(sampler);
    const final = procStats(gw.pid).rss;
    const probe = await open(`${cfg.url}/CP_PROBE`);
    const answered = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      probe.once('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      probe.send('[2,"hb","Heartbeat",{}]');
    });
    probe.terminate();
    const config = `${n} attackers, ${durationS} s, maxSendBufferSize 1 MiB`;
    ctx.row(
      'slow-reader',
      config,
      'gateway RSS idle → peak (final)',
      `${mb(idle)} → ${mb(peak)} (${mb(final)})`,
      'MB',
    );
    ctx.row('slow-reader', config, 'RSS growth at peak, per attacker', mb((peak - idle) / n), 'MB');
    ctx.row('slow-reader', config, 'CALL frames the attackers sent', sent, '');
    ctx.row('slow-reader', config, 'attackers disconnected by the gateway', `${closedByGateway}/${n}`, '');
    ctx.row(
      'slow-reader',
      config,
      'Heartbeat of another charge point answered',
      answered ? 'yes' : 'no',
      '',
      'yes',
      answered,
    );
    ctx.log(
      `  slow-reader: RSS ${mb(idle)} → peak ${mb(peak)} MB, ${sent} frames sent, ${closedByGateway}/${n} closed`,
    );
    return { idle, peak, final, sent, closedByGateway, answered, attackers: n, durationS };
  } finally {
    for (const ws of attackers) ws.terminate();
    await stopStack(ctx, stack);
  }
}

/**
 * What every gateway scenario needs: a fresh gateway (own config, own database) on the shared
 * broker, proven end to end by a probe charge point before anything is measured, a fresh load
 * generator, CPU snapshots of every process, and an orderly stop.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { writeGatewayConfig } from '../lib/gateway-config.js';
import { Inspector } from '../lib/inspector.js';
import { LoadGenerator, procStats, sleep, startGateway, waitForPort } from '../lib/processes.js';

let stackCount = 0;

/** Boots one charge point through the gateway and waits for its v1/gateway/connect on MQTT. */
async function probe(url, tb, headers, timeoutMs = 30_000) {
  const id = `bench-probe-${++stackCount}`;
  const ws = new WebSocket(`${url}/${id}`, ['ocpp1.6'], {
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    headers,
  });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('probe: no BootNotification answer')), timeoutMs);
      ws.once('error', reject);
      ws.once('open', () =>
        ws.send(
          JSON.stringify([
            2,
            '1',
            'BootNotification',
            { chargePointVendor: 'Bench', chargePointModel: 'Probe' },
          ]),
        ),
      );
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString());
        clearTimeout(timer);
        if (f[0] === 3 && f[2]?.status === 'Accepted') resolve();
        else reject(new Error(`probe: boot answered ${d}`));
      });
    });
    await tb.waitForConnect(id, timeoutMs);
  } finally {
    ws.terminate();
  }
}

/**
 * Starts a gateway with `storage` and `compression`, waits until a probe's data reaches MQTT,
 * and starts a load generator. `inspect` opens the gateway's V8 inspector (heap, CPU profile).
 * `security` is centralSystem.security; the probe then sends `probeHeaders` (its credentials).
 */
export async function startStack(
  ctx,
  { storage, compression = true, inspect = false, tag, security, probeHeaders = {} },
) {
  if (ctx.interrupted) throw new Error('interrupted');
  const dir = join(ctx.dir, tag);
  mkdirSync(dir, { recursive: true });
  const cfg = await writeGatewayConfig(dir, {
    brokerPort: ctx.broker.port,
    storage,
    compression,
    attribute: ctx.args.attribute,
    tag,
    ...(security === undefined ? {} : { security }),
  });
  const gw = await startGateway(ctx.children, cfg.file, {
    cli: ctx.args.cli,
    inspect: inspect || ctx.args.profile,
    nodeOptions: ctx.args.gatewayNodeOptions,
  });
  const stack = { cfg, gw, url: cfg.url, storage, compression, tag };
  try {
    await waitForPort(cfg.port, 20_000, () => !gw.exited());
    await probe(cfg.url, ctx.tb, probeHeaders);
    if (gw.inspectorUrl) stack.inspector = await Inspector.open(gw.inspectorUrl);
    stack.load = new LoadGenerator(ctx.children);
  } catch (err) {
    await stopStack(ctx, stack);
    throw new Error(`${tag}: gateway did not come up: ${err.message}\n${gw.stderr.slice(-2000)}`, {
      cause: err,
    });
  }
  return stack;
}

/** Stops the gateway first (it closes the charge point sockets: no TIME_WAIT on our ports), then the generator. */
export async function stopStack(ctx, stack) {
  stack.inspector?.close();
  await ctx.children.stop(stack.gw?.child, 15_000);
  await ctx.children.stop(stack.load?.child, 5_000);
  await ctx.children.stop(stack.server?.child, 5_000);
  const warnings = stack.gw?.warningList() ?? [];
  if (warnings.length > 0) ctx.details.gatewayWarnings.push({ stack: stack.tag, warnings });
}

/** Connects `count` charge points (ids CP<from>…), boots them and checks none failed. */
export async function connectAll(ctx, stack, url, { from = 0, count, compression = false, password }) {
  const r = await stack.load.request(
    'connect',
    {
      url,
      from,
      count,
      compression,
      sourceIps: ctx.sourceIps,
      concurrency: 200,
      timeoutMs: 60_000,
      password,
    },
    Math.max(120_000, count * 50),
  );
  if (r.failed > 0)
    ctx.log(`  ! ${r.failed} of ${count} charge points failed to connect/boot: ${JSON.stringify(r.reasons)}`);
  return r;
}

/** CPU seconds so far of each process in the stack (and the broker and this harness). */
export function cpuSnapshot(ctx, stack) {
  const self = process.cpuUsage();
  return {
    gateway: procStats(stack.gw?.pid ?? stack.server?.pid).cpu,
    load: procStats(stack.load.pid).cpu,
    broker: procStats(ctx.broker.pid).cpu,
    harness: (self.user + self.system) / 1e6,
  };
}

export function cpuDelta(a, b) {
  const out = {};
  for (const k of Object.keys(a)) out[k] = Math.round((b[k] - a[k]) * 100) / 100;
  return out;
}

/** Lets the gateway finish what is in flight (and the kernel settle) before measuring. */
export async function settle(ms) {
  await sleep(ms);
}

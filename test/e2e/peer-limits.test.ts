/**
 * Issue 8, bounded resources end to end: RPC deadlines that count from ThingsBoard's request (a
 * charge point that never answers cannot hold 100 RPCs for minutes), and a charge point that keeps
 * sending but never reads its answers is paused, then disconnected, while others are served.
 * Memory under that attack is measured by the benchmark (bench/scenarios/slow-reader.js), not here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, RawChargePoint } from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

describe('peer limits end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  const opened: RawChargePoint[] = [];

  async function booted(id: string): Promise<RawChargePoint> {
    const cp = await RawChargePoint.open(`${base}/${id}`, ['ocpp1.6']);
    opened.push(cp);
    cp.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification()]));
    await cp.answerTo('boot');
    await tb.waitFor(() => tb.fromGateway('v1/gateway/connect').find((m) => m.device === id));
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        {
          name: 'limits',
          ocpp: {
            centralSystem: { port: 0, maxSendBufferSize: 16_384, sendStallTimeout: 1 },
            chargePoints: [
              {
                idRegexpPattern: 'CP_[A-Z]+',
                deviceNameExpression: '${ChargePointId}',
                serverSideRpc: [{ methodRPC: 'ask', valueExpression: '${params}', timeout: 1 }],
              },
            ],
          },
        },
      ],
    });
    ({ tb, gateway } = h);
    base = h.urls.limits!;
  });

  afterAll(async () => {
    for (const cp of opened) await cp.shut();
    await h?.stop();
  });

  it('100 RPCs to a charge point that never answers all get a reply by their own deadline', async () => {
    const silent = await booted('CP_SILENT');
    const ids = Array.from({ length: 100 }, (_v, i) => 1000 + i);
    for (const id of ids) await tb.sendRpc('CP_SILENT', id, 'ask', { vendorId: 'x' });
    // Before: queued calls started their 1 s only when sent, one after another (65 s in all).
    const replies = await tb.waitFor(
      () => {
        const all = ids.map((id) => tb.rpcReplies('CP_SILENT', id)[0]);
        return all.every((r) => r !== undefined) ? all : undefined;
      },
      15_000,
      'a reply to each of the 100 RPCs',
    );
    const errors = replies.map((r) => (r.data as { error: string }).error);
    const full = errors.filter((e) => e.includes('too many calls waiting'));
    const expiredQueued = errors.filter((e) => e.includes('passed while waiting behind earlier calls'));
    const timedOut = errors.filter((e) => e.startsWith('no answer to'));
    // 1 outstanding + 64 queued (maxQueuedCalls); the other 35 are refused at once.
    expect(full).toHaveLength(35);
    expect(full.length + expiredQueued.length + timedOut.length).toBe(100);
    // A call whose deadline passed in the queue is never sent: the charge point saw only the others.
    expect(silent.calls()).toHaveLength(timedOut.length);
  });

  it('a charge point that sends but never reads is paused, then disconnected, while others are served', async () => {
    const other = await booted('CP_OTHER');
    const flooder = new WebSocket(`${base}/CP_FLOOD`, ['ocpp1.6']);
    await new Promise<void>((resolve, reject) => {
      flooder.once('open', () => resolve());
      flooder.once('error', reject);
    });
    // Stop reading on the flooder's side: its answers pile up in the gateway.
    (flooder as unknown as { _socket: { pause(): void } })._socket.pause();
    const action = 'X'.repeat(240); // an unknown action: each CALL is answered with a ~300-byte CALLERROR
    let sent = 0;
    const closed = gateway.waitForLog(
      (l) => l.msg === 'closed the connection of a charge point that does not read what it is sent',
      30_000,
      'the slow reader closed',
    );
    let done = false;
    void closed.finally(() => (done = true));
    while (!done && sent < 400_000) {
      for (let i = 0; i < 1000; i++) flooder.send(`[2,"${++sent}","${action}",{}]`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const line = await closed;
    expect(line.chargePointId).toBe('CP_FLOOD');
    const paused = gateway.logs.find(
      (l) => l.msg === 'charge point does not read what it is sent: stopped reading from it until it does',
    );
    expect(paused?.chargePointId).toBe('CP_FLOOD');
    // Meanwhile and after, another charge point is answered.
    other.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    expect((await other.answerTo('hb'))[0]).toBe(3);
    flooder.terminate();
  });
});

/**
 * Store-and-forward against real processes: the built CLI with a SQLite outbox, a real broker
 * (aedes) that is stopped, restarted and told to refuse the gateway, and strict ocpp-rpc charge
 * points. Every datapoint a charge point got a CALLRESULT for must reach "ThingsBoard".
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/broker.js';
import { GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { listeningPort } from '../helpers/listening.js';
import {
  aBootNotification,
  aStartTransaction,
  connectChargePoint,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import { FakeThingsBoard } from '../helpers/thingsboard.js';

const TOKEN = 'GW_STORE_TOKEN';
const BASE_TS = Date.UTC(2026, 10, 23, 8, 0, 0);

/** A MeterValues whose one sampled value is a sequence number, stamped BASE_TS + seq seconds. */
function meterValuesWithSeq(seq: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date(BASE_TS + seq * 1000).toISOString(),
        sampledValue: [{ value: String(seq), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
      },
    ],
  };
}

interface Setup {
  dir: TempDir;
  broker: TestBroker;
  configFile: string;
  /** Where the running gateway listens for charge points (port 0 in the config: read from its log). */
  cpPort: number;
  dbFile: string;
}

async function setup(
  storage: Record<string, unknown> = {},
  thingsboard: Record<string, unknown> = {},
): Promise<Setup> {
  const dir = new TempDir();
  const broker = await TestBroker.start();
  const dbFile = join(dir.path, 'data', 'gateway.db');
  dir.write('ocpp.json', {
    centralSystem: { host: '127.0.0.1', port: 0, security: [] },
    chargePoints: [
      {
        idRegexpPattern: 'CP_[0-9]+',
        deviceNameExpression: 'EV ${ChargePointId}',
        deviceTypeExpression: 'charger',
        timeseries: [
          { messageTypeFilter: 'MeterValues', key: 'seq', value: '${meter_value[0].sampled_value[0].value}' },
        ],
      },
    ],
  });
  const configFile = dir.write('tb_gateway.json', {
    thingsboard: {
      host: '127.0.0.1',
      port: broker.port,
      security: { accessToken: TOKEN },
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      ...thingsboard,
    },
    storage: { type: 'sqlite', data_file_path: dbFile, ...storage },
    connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
  });
  return { dir, broker, configFile, cpPort: 0, dbFile };
}

/** Sequence numbers received per device, in arrival order. */
function seqsByDevice(tbs: FakeThingsBoard[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const tb of tbs) {
    for (const msg of tb.fromGateway('v1/gateway/telemetry')) {
      for (const [device, entries] of Object.entries(msg)) {
        for (const e of entries as { ts: number; values: { seq: string } }[]) {
          expect(e.ts).toBe(BASE_TS + Number(e.values.seq) * 1000);
          const list = out.get(device) ?? [];
          list.push(Number(e.values.seq));
          out.set(device, list);
        }
      }
    }
  }
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function sendSeqs(cps: RpcClient[], from: number, to: number): Promise<void> {
  await Promise.all(
    cps.map(async (cp) => {
      for (let seq = from; seq <= to; seq++) await cp.call('MeterValues', meterValuesWithSeq(seq));
    }),
  );
}

describe('store-and-forward with the SQLite outbox', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(s: Setup): Promise<GatewayProcess> {
    const gw = GatewayProcess.run(s.configFile, { LOG_LEVEL: 'info' });
    cleanups.push(() => gw.stop());
    await gw.started();
    s.cpPort = await listeningPort(gw, 'OCPP Connector');
    return gw;
  }

  async function tbClient(s: Setup): Promise<FakeThingsBoard> {
    const tb = await FakeThingsBoard.connect(s.broker.port);
    cleanups.push(() => tb.close());
    return tb;
  }

  async function chargePoints(s: Setup, ids: string[]): Promise<RpcClient[]> {
    const cps = await Promise.all(
      ids.map((identity) => connectChargePoint({ url: `ws://127.0.0.1:${s.cpPort}`, identity })),
    );
    cleanups.push(async () => {
      await Promise.all(cps.map((cp) => cp.close({ force: true }).catch(() => undefined)));
    });
    for (const cp of cps) await cp.call('BootNotification', aBootNotification());
    return cps;
  }

  function track(s: Setup): void {
    cleanups.push(async () => {
      await s.broker.stop();
      s.dir.remove();
    });
  }

  it('a broker outage loses nothing: every accepted datapoint arrives once, in order per device', async () => {
    const s = await setup();
    track(s);
    const tb1 = await tbClient(s);
    const gw = await start(s);
    const cps = await chargePoints(s, ['CP_1', 'CP_2', 'CP_3']);
    await sendSeqs(cps, 1, 20);
    await tb1.waitFor(
      () => [...seqsByDevice([tb1]).values()].every((l) => l.length === 20) && seqsByDevice([tb1]).size === 3,
    );

    await s.broker.stop();
    await gw.waitForLog((l) => l.msg.startsWith('lost the connection to ThingsBoard'));
    // What the first subscriber got before the outage. It reconnects on its own once the broker is
    // back and then sees the backlog too, as the second one does: only this part of it counts, so
    // a message reaches the count once per delivery by the gateway, never once per subscriber.
    const beforeOutage = seqsByDevice([tb1]);
    await sendSeqs(cps, 21, 50); // answered while the broker is down: these are in the outbox only

    // Broker back; the gateway is kept out until a fresh "ThingsBoard" subscriber is listening.
    s.broker.refused.add(TOKEN);
    await s.broker.listen();
    const tb2 = await tbClient(s);
    s.broker.refused.delete(TOKEN);
    const draining = sendSeqs(cps, 51, 70); // new data keeps flowing while the backlog drains
    await draining;
    const all = await tb2.waitFor(
      () => {
        const after = seqsByDevice([tb2]);
        const m = new Map(
          ['CP_1', 'CP_2', 'CP_3'].map((id) => {
            const device = `EV ${id}`;
            return [device, [...(beforeOutage.get(device) ?? []), ...(after.get(device) ?? [])]];
          }),
        );
        return [...m.values()].every((l) => l.length >= 70) ? m : undefined;
      },
      20_000,
      'all 70 datapoints of 3 devices',
    );
    for (const id of ['CP_1', 'CP_2', 'CP_3']) expect(all.get(`EV ${id}`)).toEqual(range(1, 70));
    // Re-announced after the reconnect.
    await tb2.waitFor(() => tb2.fromGateway('v1/gateway/connect').length >= 3);
  });

  it('a SIGKILL during an outage keeps the backlog and transaction ids continue above the last', async () => {
    const s = await setup();
    track(s);
    s.broker.refused.add(TOKEN); // ThingsBoard "down" for the whole first run
    const gw1 = await start(s);
    const [cp] = await chargePoints(s, ['CP_9']);
    const t1 = (await cp!.call('StartTransaction', aStartTransaction())) as { transactionId: number };
    await sendSeqs([cp!], 1, 40);
    gw1.kill('SIGKILL');
    expect((await gw1.exited).signal).toBe('SIGKILL');
    await cp!.close({ force: true }).catch(() => undefined);

    const tb = await tbClient(s);
    s.broker.refused.delete(TOKEN);
    const gw2 = await start(s);
    const got = await tb.waitFor(() => {
      const l = seqsByDevice([tb]).get('EV CP_9');
      return l && l.length >= 40 ? l : undefined;
    });
    expect(got).toEqual(range(1, 40));
    // Reconnecting WITHOUT a boot: the device identity was persisted in the same database.
    const raw = await RawChargePoint.open(`ws://127.0.0.1:${s.cpPort}/CP_9`, ['ocpp1.6']);
    cleanups.push(() => raw.close());
    raw.send(JSON.stringify([2, 's', 'StartTransaction', aStartTransaction()]));
    const t2 = (await raw.answerTo('s'))[2] as { transactionId: number };
    expect(t2.transactionId).toBeGreaterThan(t1.transactionId);
    raw.send(JSON.stringify([2, 'm', 'MeterValues', meterValuesWithSeq(41)]));
    await raw.answerTo('m');
    await tb.waitFor(
      () => seqsByDevice([tb]).get('EV CP_9')?.includes(41),
      10_000,
      'seq 41 under the remembered device',
    );
    expect(gw2.logs.find((l) => l.msg === 'gateway started')?.backlog).toBeGreaterThanOrEqual(40);
  });

  it('SIGTERM with a backlog and a live broker publishes the backlog, then exits 0 within the grace period', async () => {
    const s = await setup({}, { shutdownGracePeriodSeconds: 10 });
    track(s);
    const tb = await tbClient(s);
    s.broker.refused.add(TOKEN);
    const gw = await start(s);
    const [cp] = await chargePoints(s, ['CP_5']);
    await sendSeqs([cp!], 1, 200);
    await cp!.close();
    const stillConnected = await RawChargePoint.open(`ws://127.0.0.1:${s.cpPort}/CP_8`, ['ocpp1.6']);
    s.broker.refused.delete(TOKEN);
    const t0 = Date.now();
    gw.kill('SIGTERM');
    const { code } = await gw.exited;
    const elapsed = Date.now() - t0;
    expect(code).toBe(0);
    // Charge points get a clean close handshake ("going away"), not a dropped TCP connection (1006).
    expect(await stillConnected.waitClosed()).toBe(1001);
    expect(elapsed).toBeLessThan(10_000);
    expect(gw.logs.some((l) => l.msg === 'outbox drained to ThingsBoard')).toBe(true);
    // The last counters: everything stored was published and removed; nothing dropped.
    const stats = gw.logs.filter((l) => l.msg === 'gateway stats').at(-1)?.stats as {
      outbox: Record<string, number>;
      connectors: { protocol: Record<string, number>; mapping: Record<string, number> }[];
    };
    expect(stats.outbox).toMatchObject({ size: 0, droppedOverflow: 0, droppedExpired: 0 });
    expect(stats.outbox.removed).toBe(stats.outbox.appended);
    expect(stats.connectors[0]?.mapping.mapped).toBe(200);
    expect(stats.connectors[0]?.protocol.callsIn).toBe(201);
    const got = await tb.waitFor(() => {
      const l = seqsByDevice([tb]).get('EV CP_5');
      return l && l.length >= 200 ? l : undefined;
    });
    expect(got).toEqual(range(1, 200));
  });

  it('the same signal twice at once (Ctrl-C on npm start) is one request: the backlog is published, exit 0', async () => {
    const s = await setup({}, { shutdownGracePeriodSeconds: 10 });
    track(s);
    const tb = await tbClient(s);
    s.broker.refused.add(TOKEN);
    const gw = await start(s);
    const [cp] = await chargePoints(s, ['CP_7']);
    await sendSeqs([cp!], 1, 50);
    await cp!.close();
    // The terminal signals the whole process group and npm passes the signal on again, a moment
    // later (two signals pending at once would merge into one: sent after the first is taken).
    // ThingsBoard refuses until both are in, so the stop is still draining when the second comes.
    gw.kill('SIGINT');
    await gw.waitForLog((l) => l.msg === 'stopping');
    gw.kill('SIGINT');
    await gw.waitForLog((l) => l.msg === 'the same stop request again: still stopping gracefully');
    s.broker.refused.delete(TOKEN);
    const { code } = await gw.exited;
    expect(code).toBe(0);
    expect(gw.logs.some((l) => l.msg === 'second signal: exiting at once')).toBe(false);
    const got = await tb.waitFor(() => {
      const l = seqsByDevice([tb]).get('EV CP_7');
      return l && l.length >= 50 ? l : undefined;
    });
    expect(got).toEqual(range(1, 50));
  });

  it('a second signal exits at once and leaves a database the next start uses', async () => {
    const s = await setup({}, { shutdownGracePeriodSeconds: 30 });
    track(s);
    s.broker.refused.add(TOKEN);
    const gw1 = await start(s);
    const [cp] = await chargePoints(s, ['CP_6']);
    await sendSeqs([cp!], 1, 25);
    await cp!.close();
    gw1.kill('SIGTERM');
    await gw1.waitForLog((l) => l.msg === 'stopping');
    // Past the window in which a signal counts as the first one delivered again.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const t0 = Date.now();
    gw1.kill('SIGTERM');
    const { code } = await gw1.exited;
    expect(Date.now() - t0).toBeLessThan(3000); // not the 30 s grace period
    expect(code).not.toBe(0);

    const tb = await tbClient(s);
    s.broker.refused.delete(TOKEN);
    await start(s);
    const got = await tb.waitFor(() => {
      const l = seqsByDevice([tb]).get('EV CP_6');
      return l && l.length >= 25 ? l : undefined;
    });
    expect(got).toEqual(range(1, 25));
  });

  it('a full outbox drops the oldest records, counts and warns, and the newest still flow', async () => {
    const s = await setup({ max_records_count: 10 });
    track(s);
    const tb = await tbClient(s);
    s.broker.refused.add(TOKEN);
    const gw = await start(s);
    const [cp] = await chargePoints(s, ['CP_4']);
    await sendSeqs([cp!], 1, 30);
    const warning = await gw.waitForLog((l) => l.msg.startsWith('outbox full'));
    expect(warning.level).toBe(40);
    expect(warning.msg).toContain('max_records_count=10');
    s.broker.refused.delete(TOKEN);
    const got = await tb.waitFor(() => {
      const l = seqsByDevice([tb]).get('EV CP_4');
      return l?.includes(30) ? l : undefined;
    });
    // The connect record and the first 21 readings were the oldest: dropped. The newest 10 survive.
    expect(got).toEqual(range(21, 30));
    await sendSeqs([cp!], 31, 31);
    await tb.waitFor(() => seqsByDevice([tb]).get('EV CP_4')?.includes(31));
  });
});

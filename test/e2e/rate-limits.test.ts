/**
 * ThingsBoard's session limits, end to end: the built CLI against the ThingsBoard stand-in, which
 * announces limits with getSessionLimits and cuts off a gateway that exceeds them. Charge points
 * (strict ocpp-rpc clients) send far more than the limits admit: they are answered at once, the
 * outbox holds the difference, and everything arrives without one violation.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { StandInHarness } from '../helpers/standin-harness.js';
import { ThingsBoardStandIn, type SessionLimitsAnswer } from '../helpers/tb-standin.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_[0-9]+',
      deviceNameExpression: 'EV ${ChargePointId}',
      deviceTypeExpression: 'charger',
      attributes: [{ messageTypeFilter: 'BootNotification', key: 'vendor', value: '${chargePointVendor}' }],
      timeseries: [
        { messageTypeFilter: 'MeterValues', key: 'seq', value: '${meter_value[0].sampled_value[0].value}' },
        { messageTypeFilter: 'MeterValues', key: 'power', value: '${meter_value[0].sampled_value[1].value}' },
      ],
    },
  ],
};

/** Limits of a small tenant profile: the charge points below offer far more. */
const LIMITS: SessionLimitsAnswer = {
  maxPayloadSize: 4096,
  maxInflightMessages: 100,
  rateLimits: { messages: '20:1', telemetryMessages: '10:1', telemetryDataPoints: '100:1' },
  gatewayRateLimits: { messages: '10:1', telemetryMessages: '20:1', telemetryDataPoints: '50:1,3000:60' },
};

function meterValues(seq: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
        sampledValue: [
          { value: String(seq), measurand: 'Energy.Active.Import.Register' },
          { value: String(seq * 10), measurand: 'Power.Active.Import' },
        ],
      },
    ],
  };
}

const CHARGE_POINTS = 10;
const MESSAGES = 20;
/** Two datapoints per MeterValues. */
const DATAPOINTS = CHARGE_POINTS * MESSAGES * 2;

describe('rate limits announced by ThingsBoard', () => {
  let h: StandInHarness | undefined;
  const cps: RpcClient[] = [];
  afterEach(async () => {
    await Promise.all(cps.splice(0).map((cp) => cp.close({ force: true }).catch(() => undefined)));
    await h?.stop();
    h = undefined;
  });

  async function chargePoints(url: string, n: number): Promise<RpcClient[]> {
    const list = await Promise.all(
      Array.from({ length: n }, (_, i) => connectChargePoint({ url, identity: `CP_${i + 1}` })),
    );
    cps.push(...list);
    return list;
  }

  it('a load far above them: charge points answered at once, no violation, nothing lost', async () => {
    h = await StandInHarness.start({
      sessionLimits: { answer: LIMITS },
      // The gateway device's own traffic too: statistics, configuration, remote logs at DEBUG.
      thingsboard: { statistics: { enable: true, statsSendPeriodInSeconds: 10 }, remoteConfiguration: true },
      before: (standIn) => standIn.presetShared({ RemoteLoggingLevel: 'DEBUG' }),
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    const list = await chargePoints(h.urls.OCPP ?? '', CHARGE_POINTS);
    await Promise.all(
      list.map(async (cp) => {
        await cp.call('BootNotification', aBootNotification());
        for (let seq = 1; seq <= MESSAGES; seq++) await cp.call('MeterValues', meterValues(seq));
      }),
    );
    // Every charge point was answered while most of its data still waited in the outbox: the
    // load was well above what the limits let through (40 datapoints/s at the 80 % share).
    const atLastAnswer = tb.datapointsReceived;
    expect(atLastAnswer).toBeLessThan(DATAPOINTS / 2);

    await tb.waitFor(() => tb.datapointsReceived >= DATAPOINTS, 60_000, 'every datapoint');
    for (let i = 1; i <= CHARGE_POINTS; i++) {
      const seqs = new Set(tb.values(`EV CP_${i}`, 'seq').map(Number));
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: MESSAGES }, (_, k) => k + 1));
      expect(tb.attributes.get(`EV CP_${i}`)).toMatchObject({ vendor: 'Acme' });
    }
    expect(tb.violations).toEqual([]);
    expect(tb.closedForViolation).toBe(0);
    expect(tb.usernames).toHaveLength(1); // never reconnected
    // The gateway device's own messages were sent as well, within its own limits.
    expect(tb.deviceTelemetry.some((t) => t.key === 'machineStats')).toBe(true);
    expect(tb.deviceTelemetry.some((t) => t.key === 'LOGS')).toBe(true);
    expect(tb.clientAttributes.has('OCPP')).toBe(true);
    // It said what it applied, at the safety share of every window.
    const applied = await h.gateway.waitForLog((l) =>
      l.msg.startsWith('session limits from ThingsBoard applied'),
    );
    expect(applied.inForce).toMatchObject({
      devices: { telemetryDataPoints: '40:1,2400:60', telemetryMessages: '16:1', messages: '8:1' },
      maxPayloadBytes: 3276,
    });
  });

  it('a backlog for devices ThingsBoard has not seen in this session: its implicit connects are paced too', async () => {
    // ThingsBoard counts a regular message when data names a device its gateway session has not
    // connected (an implicit connect). After a reconnect, a backlog of charge points gone meanwhile
    // names many such devices at once.
    h = await StandInHarness.start({
      sessionLimits: {
        answer: {
          maxPayloadSize: 65536,
          maxInflightMessages: 100,
          gatewayRateLimits: { messages: '10:1', telemetryMessages: '100:1', telemetryDataPoints: '40:1' },
        },
      },
      thingsboard: { reconnectMinMs: 100, reconnectMaxMs: 200 },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    const n = 24;
    const list = await chargePoints(h.urls.OCPP ?? '', n);
    await Promise.all(list.map((cp) => cp.call('BootNotification', aBootNotification())));
    await tb.waitFor(() => tb.connects.length >= n, 30_000, 'every connect');
    await Promise.all(
      list.map(async (cp) => {
        for (let seq = 1; seq <= 3; seq++) await cp.call('MeterValues', meterValues(seq));
        await cp.close();
      }),
    );
    cps.length = 0;
    // The data is mostly still in the outbox (32 datapoints a second), the charge points are gone:
    // the new session re-announces nobody, and every device is new to it.
    expect(tb.datapointsReceived).toBeLessThan(n * 3 * 2);
    tb.dropConnections();
    await tb.waitFor(() => tb.usernames.length >= 2, 10_000, 'reconnect');
    await tb.waitFor(() => tb.disconnects.length >= n, 60_000, 'every disconnect');
    for (let i = 1; i <= n; i++) {
      expect(new Set(tb.values(`EV CP_${i}`, 'seq'))).toEqual(new Set(['1', '2', '3']));
    }
    expect(tb.violations).toEqual([]);
  });

  it('the stand-in cuts off a client that exceeds them, as ThingsBoard does', async () => {
    // Shows the zero-violation assertion above can fail: the stand-in really enforces.
    const tb = await ThingsBoardStandIn.start({ sessionLimits: { answer: LIMITS } });
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: tb.port,
      username: 'RAW',
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    for (let i = 0; i < 30; i++) {
      client.publish('v1/gateway/telemetry', JSON.stringify({ D: [{ ts: i, values: { a: 1 } }] }), {
        qos: 1,
      });
    }
    await closed;
    // 20 telemetry messages a second (a full bucket at first): one more is too many, and the
    // connection is closed before the rest is taken.
    expect(tb.violations[0]).toMatchObject({ lane: 'devices', limit: 'telemetryMessages', closed: true });
    expect(tb.values('D', 'a').length).toBeGreaterThanOrEqual(20);
    expect(tb.values('D', 'a').length).toBeLessThan(30);
    await client.endAsync(true);
    await tb.stop();
  });

  it('a ThingsBoard that does not know getSessionLimits: data flows without limits, said once', async () => {
    h = await StandInHarness.start({
      sessionLimits: { error: 'Unsupported method' },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    const [cp] = await chargePoints(h.urls.OCPP ?? '', 1);
    await cp?.call('BootNotification', aBootNotification());
    await cp?.call('MeterValues', meterValues(1));
    await tb.waitFor(() => tb.values('EV CP_1', 'seq').length >= 1, 10_000, 'first datapoint');
    // A ThingsBoard node restart: the gateway reconnects and asks again.
    tb.dropConnections();
    await tb.waitFor(() => tb.usernames.length >= 2, 10_000, 'reconnect');
    await cp?.call('MeterValues', meterValues(2));
    await tb.waitFor(() => tb.values('EV CP_1', 'seq').includes('2'), 10_000, 'datapoint after reconnect');
    const said = h.gateway.logs.filter((l) =>
      l.msg.startsWith('ThingsBoard did not tell its session limits'),
    );
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 40, reason: 'ThingsBoard answered with an error' });
  });

  it('local limits of tb_gateway.json apply on top of ThingsBoard’s', async () => {
    h = await StandInHarness.start({
      sessionLimits: { answer: LIMITS },
      thingsboard: { deviceDpRateLimits: '10:1', rateLimits: 'DEFAULT_TELEMETRY_RATE_LIMIT' },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const applied = await h.gateway.waitForLog((l) =>
      l.msg.startsWith('session limits from ThingsBoard applied'),
    );
    // ThingsBoard's windows and the local one, each at 80 %.
    expect(applied.inForce).toMatchObject({ devices: { telemetryDataPoints: '40:1,2400:60,8:1' } });
  });
});

describe('a bad rate-limit value in tb_gateway.json', () => {
  const dirs: TempDir[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.remove();
  });

  it('stops start-up with exit 2 naming the file and the JSON path', async () => {
    const dir = new TempDir();
    dirs.push(dir);
    dir.write('ocpp.json', OCPP);
    const file = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: 1, deviceDpRateLimits: '100 per second' },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const gw = GatewayProcess.run(file);
    const { code } = await gw.exited;
    expect(code).toBe(2);
    expect(gw.stderr).toContain(
      `${file}: $.thingsboard.deviceDpRateLimits: expected "capacity:seconds" pairs`,
    );
  });
});

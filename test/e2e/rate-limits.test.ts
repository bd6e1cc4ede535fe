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

/** The keys each MeterValues maps to: five datapoints a message. */
const KEYS = ['seq', 'power', 'current', 'voltage', 'soc'] as const;

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_[0-9]+',
      deviceNameExpression: 'EV ${ChargePointId}',
      deviceTypeExpression: 'charger',
      attributes: [{ messageTypeFilter: 'BootNotification', key: 'vendor', value: '${chargePointVendor}' }],
      timeseries: KEYS.map((key, i) => ({
        messageTypeFilter: 'MeterValues',
        key,
        value: `\${meter_value[0].sampled_value[${i}].value}`,
      })),
    },
  ],
};

/** Datapoints a second the devices behind the gateway may send: the binding limit below. */
const DATAPOINTS_PER_SECOND = 100;

/** Limits of a small tenant profile: the charge points below offer far more. */
const LIMITS: SessionLimitsAnswer = {
  maxPayloadSize: 4096,
  maxInflightMessages: 100,
  rateLimits: { messages: '20:1', telemetryMessages: '10:1', telemetryDataPoints: '100:1' },
  gatewayRateLimits: {
    messages: '10:1',
    telemetryMessages: '20:1',
    telemetryDataPoints: `${DATAPOINTS_PER_SECOND}:1,${DATAPOINTS_PER_SECOND * 60}:60`,
  },
};

function meterValues(seq: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
        sampledValue: KEYS.map((_, i) => ({ value: String(seq * 10 ** i) })),
      },
    ],
  };
}

const CHARGE_POINTS = 10;
const MESSAGES = 20;
const DATAPOINTS = CHARGE_POINTS * MESSAGES * KEYS.length;

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

  it('five times the load they admit: charge points answered at once, no violation, nothing lost', async () => {
    h = await StandInHarness.start({
      sessionLimits: { answer: LIMITS },
      // The gateway device's own traffic too: statistics, configuration, remote logs at DEBUG.
      thingsboard: { statistics: { enable: true, statsSendPeriodInSeconds: 10 }, remoteConfiguration: true },
      before: (standIn) => standIn.presetShared({ RemoteLoggingLevel: 'DEBUG' }),
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    const list = await chargePoints(h.urls.OCPP ?? '', CHARGE_POINTS);
    await Promise.all(list.map((cp) => cp.call('BootNotification', aBootNotification())));
    const started = performance.now();
    await Promise.all(
      list.map(async (cp) => {
        for (let seq = 1; seq <= MESSAGES; seq++) await cp.call('MeterValues', meterValues(seq));
      }),
    );
    const offeringSeconds = (performance.now() - started) / 1000;
    const atLastAnswer = tb.datapointsReceived;
    // The load, not the gateway's speed: every datapoint was offered (and answered) at five times
    // or more the rate ThingsBoard admits. (Typically 20 to 50 times: the margin covers a busy
    // machine.) Most of it then still waited in the outbox.
    expect(DATAPOINTS / offeringSeconds).toBeGreaterThanOrEqual(5 * DATAPOINTS_PER_SECOND);
    expect(atLastAnswer).toBeLessThan(DATAPOINTS / 2);

    await tb.waitFor(() => tb.datapointsReceived >= DATAPOINTS, 60_000, 'every datapoint');
    // Zero loss: every value of every message of every charge point, none dropped by ThingsBoard.
    for (let i = 1; i <= CHARGE_POINTS; i++) {
      for (const [k, key] of KEYS.entries()) {
        const values = new Set(tb.values(`EV CP_${i}`, key).map(Number));
        const sent = Array.from({ length: MESSAGES }, (_, m) => (m + 1) * 10 ** k);
        expect([...values].sort((a, b) => a - b)).toEqual(sent);
      }
      expect(tb.attributes.get(`EV CP_${i}`)).toMatchObject({ vendor: 'Acme' });
    }
    expect(tb.droppedDatapoints).toBe(0);
    expect(tb.ignoredEntries).toBe(0);
    // Zero violations, of the devices' limits and of the gateway device's own.
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
      devices: { telemetryDataPoints: '80:1,4800:60', telemetryMessages: '16:1', messages: '8:1' },
      maxPayloadBytes: 3276,
    });
  });

  it('a reconnect with a backlog: re-announced charge points and devices new to the session are paced', async () => {
    // ThingsBoard counts two messages for a device its gateway session has not connected, be it
    // with a connect or implicitly with its data. After a reconnect the live charge points are
    // announced again, and a backlog of charge points gone meanwhile names many devices at once.
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
    const n = 16;
    const list = await chargePoints(h.urls.OCPP ?? '', n);
    await Promise.all(list.map((cp) => cp.call('BootNotification', aBootNotification())));
    await tb.waitFor(() => tb.connects.length >= n, 30_000, 'every connect');
    // Half of them leave once their data is answered; the other half stay connected.
    const leaving = list.slice(0, n / 2);
    await Promise.all(
      list.map(async (cp) => {
        for (let seq = 1; seq <= 3; seq++) await cp.call('MeterValues', meterValues(seq));
        if (leaving.includes(cp)) await cp.close();
      }),
    );
    // The data is mostly still in the outbox (32 datapoints a second).
    expect(tb.datapointsReceived).toBeLessThan((n * 3 * KEYS.length) / 2);
    const connectsBefore = tb.connects.length;
    tb.dropConnections();
    await tb.waitFor(() => tb.usernames.length >= 2, 10_000, 'reconnect');
    await tb.waitFor(() => tb.datapointsReceived >= n * 3 * KEYS.length, 60_000, 'every datapoint');
    await tb.waitFor(() => tb.disconnects.length >= n / 2, 60_000, 'every disconnect');
    // The charge points still connected were announced again in the new session.
    expect(tb.connects.length - connectsBefore).toBeGreaterThanOrEqual(n / 2);
    // OCPP 1.6 sampled values that are numbers are published as numbers (README "Values with types").
    for (let i = 1; i <= n; i++) {
      expect(new Set(tb.values(`EV CP_${i}`, 'seq'))).toEqual(new Set([1, 2, 3]));
    }
    expect(tb.droppedDatapoints).toBe(0);
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

  it('the stand-in counts a device new to the session as two messages, and drops its data when it cannot connect it', async () => {
    // ThingsBoard's MqttGatewayRateLimitsTest: with messages "3:600", device A costs two
    // ('create device', 'to device actor'), device B's lookup passes and its session open does not.
    const tb = await ThingsBoardStandIn.start({
      sessionLimits: { answer: { gatewayRateLimits: { messages: '3:600' } } },
    });
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: tb.port,
      username: 'RAW',
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    const telemetry = (device: string, a: number): string =>
      JSON.stringify({ [device]: [{ ts: a, values: { a } }] });
    await client.publishAsync('v1/gateway/telemetry', telemetry('A', 1), { qos: 1 });
    expect(tb.violations).toEqual([]);
    await client.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'A' }), { qos: 1 });
    expect(tb.violations).toEqual([]); // A is in the session: its connect costs nothing
    await client.publishAsync('v1/gateway/telemetry', telemetry('B', 2), { qos: 1 });
    expect(tb.violations).toMatchObject([{ limit: 'messages', closed: false }]);
    expect(tb.values('B', 'a')).toEqual([2]); // looked up: its data is taken
    // C cannot even be looked up: the publish is acknowledged, C's data is dropped, nothing closed.
    await client.publishAsync('v1/gateway/telemetry', telemetry('C', 3), { qos: 1 });
    expect(tb.values('C', 'a')).toEqual([]);
    expect(tb.droppedDatapoints).toBe(1);
    expect(tb.closedForViolation).toBe(0);
    expect(client.connected).toBe(true);
    await client.endAsync(true);
    await tb.stop();
  });

  it('the stand-in counts the topic against maxPayloadSize, as Netty’s decoder does', async () => {
    const tb = await ThingsBoardStandIn.start({ sessionLimits: { answer: { maxPayloadSize: 200 } } });
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: tb.port,
      username: 'RAW',
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const topic = 'v1/devices/me/telemetry';
    // 2 + 23 (topic) + 2 (packet id) + 173 = 200: admitted; one byte more is not.
    const body = (bytes: number): string => JSON.stringify({ k: 'x'.repeat(bytes - 8) });
    await client.publishAsync(topic, body(173), { qos: 1 });
    expect(tb.violations).toEqual([]);
    client.publish(topic, body(174), { qos: 1 });
    await closed;
    expect(tb.violations).toMatchObject([{ limit: 'maxPayloadSize', closed: true }]);
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
    await tb.waitFor(() => tb.values('EV CP_1', 'seq').includes(2), 10_000, 'datapoint after reconnect');
    const said = h.gateway.logs.filter((l) =>
      l.msg.startsWith('ThingsBoard did not tell its session limits'),
    );
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 40, reason: 'ThingsBoard answered with an error' });
  });

  it('a ThingsBoard that does not answer getSessionLimits: data flows after its timeout, with a warning', async () => {
    h = await StandInHarness.start({ sessionLimits: 'silent', connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    const tb = h.tb;
    const [cp] = await chargePoints(h.urls.OCPP ?? '', 1);
    await cp?.call('BootNotification', aBootNotification());
    await cp?.call('MeterValues', meterValues(1));
    await tb.waitFor(() => tb.values('EV CP_1', 'seq').length >= 1, 15_000, 'first datapoint');
    const said = await h.gateway.waitForLog((l) =>
      l.msg.startsWith('ThingsBoard did not tell its session limits'),
    );
    expect(said).toMatchObject({ level: 40, reason: 'no answer within 5000 ms' });
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
    expect(applied.inForce).toMatchObject({ devices: { telemetryDataPoints: '80:1,4800:60,8:1' } });
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

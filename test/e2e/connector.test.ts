/**
 * The connector end to end through the built CLI: a real MQTT broker (aedes), an MQTT client
 * playing ThingsBoard, and ocpp-rpc in strict mode as the charge point, with the seed document's
 * ocpp.json verbatim (only its port is changed to 0, so parallel tests never collide on 9000).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  aMeterValues,
  aStartTransaction,
  basicAuth,
  connectChargePoint,
  handshakeStatus,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const SEED = readFileSync(resolve(import.meta.dirname, '../fixtures/seed-ocpp.json'), 'utf8');
const TOKEN = { authorization: 'Bearer ACCESS_TOKEN' };
const DEVICE = 'Acme Wallbox 7';

describe('OCPP 1.6J connector end to end (seed ocpp.json)', () => {
  let h: Harness;
  let broker: TestBroker;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  let cp: RpcClient;

  beforeAll(async () => {
    h = await Harness.start({
      accessToken: 'GW_TOKEN_1',
      connectors: [{ name: 'OCPP', ocpp: SEED.replace('"port": 9000', '"port": 0') }],
    });
    ({ broker, tb, gateway } = h);
    base = h.urls.OCPP!;
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await h?.stop();
  });

  it('logs in to ThingsBoard with its access token as MQTT username', () => {
    expect(broker.usernames).toContain('GW_TOKEN_1');
  });

  it.each([
    ['no credentials', {}, 401],
    ['a wrong token', { authorization: 'Bearer nope' }, 401],
    ['wrong basic credentials', basicAuth('admin', 'wrong'), 401],
    ['the token', TOKEN, 101],
    ['basic admin:admin', basicAuth('admin', 'admin'), 101],
  ])('handshake with %s → %i', async (_what, headers, status) => {
    expect(await handshakeStatus(`${base}/bidon/hello/CP_1`, ['ocpp1.6'], headers)).toBe(status);
  });

  it('refuses an id no chargePoints entry matches with 404 and a warning naming it', async () => {
    expect(await handshakeStatus(`${base}/bidon/hello/CP_10`, ['ocpp1.6'], TOKEN)).toBe(404);
    await gateway.waitForLog((l) => l.chargePointId === 'bidon/hello/CP_10' && l.level === 40);
  });

  it('boot → v1/gateway/connect with the device named by deviceNameExpression', async () => {
    cp = await connectChargePoint({ url: `${base}/bidon/hello`, identity: 'CP_1', headers: TOKEN });
    const answer = (await cp.call('BootNotification', aBootNotification())) as Record<string, unknown>;
    expect(answer.status).toBe('Accepted');
    expect(answer.interval).toBe(60);
    expect(String(answer.currentTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const connect = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/connect').find((m) => m.device === DEVICE),
    );
    expect(connect).toEqual({ device: DEVICE, type: 'default' });
  });

  it('MeterValues → attributes with the exact payload', async () => {
    await cp.call('MeterValues', aMeterValues({ connectorId: 2 }));
    const attrs = await tb.waitFor(() => tb.fromGateway('v1/gateway/attributes').find((m) => DEVICE in m));
    // temp1 = the first sampled value (a wildcard yields its first match); vendorId = ${connector_id}.
    expect(attrs).toEqual({ [DEVICE]: { temp1: 1234.5, vendorId: 2 } });
  });

  it('DataTransfer → telemetry with data parsed as JSON', async () => {
    const before = Date.now();
    const answer = await cp.call('DataTransfer', { vendorId: 'acme', data: JSON.stringify({ temp: 21.5 }) });
    expect(answer).toEqual({ status: 'Accepted' });
    const telemetry = await tb.waitFor(() => tb.fromGateway('v1/gateway/telemetry').find((m) => DEVICE in m));
    const entries = telemetry[DEVICE] as { ts: number; values: Record<string, unknown> }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.values).toEqual({ temp: 21.5 });
    // DataTransfer carries no timestamp: receive time.
    expect(entries[0]?.ts).toBeGreaterThanOrEqual(before);
    expect(entries[0]?.ts).toBeLessThanOrEqual(Date.now());
  });

  it('answers every charge-point-initiated 1.6 action with a schema-valid answer', async () => {
    // ocpp-rpc strict mode rejects any answer that does not match the official schema.
    await expect(cp.call('Heartbeat', {})).resolves.toHaveProperty('currentTime');
    await expect(cp.call('Authorize', { idTag: 'TAG1' })).resolves.toEqual({
      idTagInfo: { status: 'Accepted' },
    });
    await expect(
      cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }),
    ).resolves.toEqual({});
    await expect(cp.call('FirmwareStatusNotification', { status: 'Idle' })).resolves.toEqual({});
    await expect(cp.call('DiagnosticsStatusNotification', { status: 'Idle' })).resolves.toEqual({});
    const t1 = (await cp.call('StartTransaction', aStartTransaction())) as { transactionId: number };
    const t2 = (await cp.call('StartTransaction', aStartTransaction({ connectorId: 2 }))) as {
      transactionId: number;
    };
    expect(Number.isInteger(t1.transactionId)).toBe(true);
    expect(t2.transactionId).toBeGreaterThan(t1.transactionId);
    await expect(
      cp.call('StopTransaction', {
        transactionId: t1.transactionId,
        meterStop: 10,
        timestamp: new Date().toISOString(),
      }),
    ).resolves.toEqual({});
  });

  it('shared attribute update → DataTransfer with the rendered valueExpression', async () => {
    const received = new Promise<unknown>((resolve) =>
      cp.handle('DataTransfer', ({ params }) => {
        resolve(params);
        return { status: 'Accepted' };
      }),
    );
    await tb.sendAttributeUpdate(DEVICE, { shared: 'on' });
    expect(await received).toEqual({ vendorId: 'ThingsBoard', data: '{"shared":"on"}' });
  });

  it('RPC rpc1 → DataTransfer with ${params}; the reply carries the charge point response', async () => {
    const received = new Promise<unknown>((resolve) =>
      cp.handle('DataTransfer', ({ params }) => {
        resolve(params);
        return { status: 'Accepted', data: 'done' };
      }),
    );
    const reply = await tb.rpc(DEVICE, 11, 'rpc1', { relay: 1 });
    expect(await received).toEqual({ vendorId: 'ThingsBoard', data: '{"relay":1}' });
    expect(reply).toEqual({ result: { status: 'Accepted', data: 'done' } });
  });

  it('RPC named after an OCPP action is sent as that action', async () => {
    const received = new Promise<unknown>((resolve) =>
      cp.handle('Reset', ({ params }) => {
        resolve(params);
        return { status: 'Accepted' };
      }),
    );
    const reply = await tb.rpc(DEVICE, 12, 'Reset', { type: 'Soft' });
    expect(await received).toEqual({ type: 'Soft' });
    expect(reply).toEqual({ result: { status: 'Accepted' } });
  });

  it.each([
    ['invalid params', 13, DEVICE, 'Reset', { type: 'Sideways' }, /PropertyConstraintViolation/],
    ['an unknown method', 14, DEVICE, 'doSomething', {}, /unknown method "doSomething"/],
    ['an unknown device', 15, 'Nobody', 'Reset', { type: 'Soft' }, /no live charge point/],
  ])('RPC with %s gets an error reply', async (_what, id, device, method, params, error) => {
    const reply = (await tb.rpc(device, id, method, params)) as { error: string };
    expect(reply.error).toMatch(error);
  });

  it('RPC answered with a CALLERROR gets an error reply', async () => {
    cp.handle('UnlockConnector', () => {
      throw Object.assign(new Error('stuck'), { rpcErrorCode: 'InternalError' });
    });
    const reply = (await tb.rpc(DEVICE, 16, 'UnlockConnector', { connectorId: 1 })) as { error: string };
    expect(reply.error).toMatch(/CALLERROR/);
  });

  it('closing the socket → v1/gateway/disconnect', async () => {
    await cp.close();
    const disconnect = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/disconnect').find((m) => m.device === DEVICE),
    );
    expect(disconnect).toEqual({ device: DEVICE });
  });
  it('malformed frames get the matching CALLERROR and the socket stays open', async () => {
    const raw = await RawChargePoint.open(`${base}/bidon/hello/CP_1`, ['ocpp1.6'], TOKEN);
    try {
      raw.send('this is not json');
      raw.send(JSON.stringify([2, 'm1', 'BootNotification', { chargePointVendor: 'Acme' }]));
      raw.send(JSON.stringify([2, 'm2', 'FlyToTheMoon', {}]));
      raw.send(JSON.stringify([2, 'm3', 'Heartbeat', { extra: 1 }]));
      raw.send(
        JSON.stringify([
          2,
          'm4',
          'StatusNotification',
          { connectorId: '1', errorCode: 'NoError', status: 'Available' },
        ]),
      );
      raw.send(
        JSON.stringify([
          2,
          'm5',
          'BootNotification',
          { chargePointVendor: 'x'.repeat(21), chargePointModel: 'M' },
        ]),
      );
      raw.send(JSON.stringify([2, 'm6', 'Reset', { type: 'Soft' }]));
      raw.send(JSON.stringify([2, 'm7', 'Heartbeat', {}]));
      expect(await raw.answerTo('m1')).toEqual([
        4,
        'm1',
        'OccurenceConstraintViolation',
        expect.any(String),
        expect.anything(),
      ]);
      expect((await raw.answerTo('m2')).slice(0, 3)).toEqual([4, 'm2', 'NotImplemented']);
      expect((await raw.answerTo('m3')).slice(0, 3)).toEqual([4, 'm3', 'PropertyConstraintViolation']);
      expect((await raw.answerTo('m4')).slice(0, 3)).toEqual([4, 'm4', 'TypeConstraintViolation']);
      expect((await raw.answerTo('m5')).slice(0, 3)).toEqual([4, 'm5', 'FormationViolation']);
      expect((await raw.answerTo('m6')).slice(0, 3)).toEqual([4, 'm6', 'NotSupported']);
      const ok = await raw.answerTo('m7');
      expect(ok[0]).toBe(3);
      expect(raw.closed).toBe(false);
      await gateway.waitForLog((l) => l.msg === 'bad OCPP-J frame from charge point');
    } finally {
      raw.close();
    }
  });
});

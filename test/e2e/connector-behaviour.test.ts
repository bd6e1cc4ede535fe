/**
 * Connector behaviour beyond the seed document: every mapping feature, the downlink variants
 * (action entries, timeouts, withResponse false), connection management (replacement, dead peers,
 * frame size) and the ThingsBoard side (QoS, echoes), end to end through the built CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  aMeterValues,
  connectChargePoint,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const OCPP = {
  centralSystem: {
    host: '127.0.0.1',
    port: 0,
    security: [],
    pingInterval: 1,
    maxMessageSize: 2048,
    heartbeatInterval: 300,
  },
  chargePoints: [
    {
      idRegexpPattern: 'site-a/.+',
      deviceNameExpression: '${Vendor} ${ChargePointId}',
      deviceTypeExpression: '${charge_point_model}',
      attributes: [
        { messageTypeFilter: 'BootNotification', key: 'firmware', value: '${firmwareVersion}' },
        { messageTypeFilter: 'BootNotification', key: 'serial', value: '${charge_point_serial_number}' },
        { messageTypeFilter: 'StatusNotification', key: 'status_${connectorId}', value: '${status}' },
      ],
      timeseries: [
        {
          messageTypeFilter: ' MeterValues , DataTransfer,',
          key: 'voltage',
          value: "${meter_value[0].sampled_value[?(@.measurand=='Voltage')].value}",
        },
        { messageTypeFilter: 'MeterValues', key: 'missing', value: '${meter_value[0].nothing_here}' },
        { messageTypeFilter: 'DataTransfer', key: 'temp', value: '${data.temp}' },
        { messageTypeFilter: 'DataTransfer', key: 'summary', value: '${vendorId}: ${data.temp} C' },
        { messageTypeFilter: 'StopTransaction', key: 'meterStop', value: '${meter_stop}' },
      ],
      attributeUpdates: [
        {
          attributeOnThingsBoard: 'maxCurrent',
          action: 'ChangeConfiguration',
          valueExpression: '{"key":"MaxCurrent","value":"${attributeValue}"}',
        },
        {
          attributeOnThingsBoard: 'greeting',
          vendorId: 'acme',
          messageId: 'hello',
          valueExpression: '${attributeValue}',
        },
      ],
      serverSideRpc: [
        {
          methodRPC: 'setConfig',
          action: 'ChangeConfiguration',
          valueExpression: '{"key":"${params.key}","value":"${params.value}"}',
        },
        { methodRPC: 'slow', timeout: 1, valueExpression: '${params}' },
        { methodRPC: 'fireAndForget', withResponse: false, valueExpression: '${params}' },
      ],
    },
    {
      idRegexpPattern: 'fleet/.+',
      deviceNameExpression: '${Vendor} ${Model}',
      deviceTypeExpression: 'fleet',
    },
  ],
};

describe('connector behaviour end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  const clients: RpcClient[] = [];

  async function chargePoint(identity: string): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: `${base}/site-a`, identity });
    clients.push(cp);
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({ thingsboard: { qos: 0 }, connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    ({ tb, gateway } = h);
    base = h.urls.OCPP!;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    await h?.stop();
  });

  it('maps BootNotification fields (camel and snake case) and names the device with ${ChargePointId}', async () => {
    const cp = await chargePoint('CP_1');
    const boot = await cp.call('BootNotification', aBootNotification({ firmwareVersion: '2.4.1' }));
    expect(boot).toMatchObject({ status: 'Accepted', interval: 300 });
    const connect = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'Acme site-a/CP_1'),
    );
    expect(connect).toEqual({ device: 'Acme site-a/CP_1', type: 'Wallbox 7' });
    const attrs = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/attributes').find((m) => 'Acme site-a/CP_1' in m),
    );
    expect(attrs).toEqual({ 'Acme site-a/CP_1': { firmware: '2.4.1', serial: 'SN-1' } });
  });

  it('publishes with the configured QoS (0 here)', () => {
    const published = tb.messages.filter((m) => m.topic !== 'v1/gateway/rpc');
    expect(published.length).toBeGreaterThan(0);
    for (const m of published) expect(m.qos).toBe(0);
  });

  it('a filter path picks the Voltage sample; the meterValue timestamp becomes ts; unresolved is skipped', async () => {
    const cp = await chargePoint('CP_2');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('MeterValues', aMeterValues());
    const t = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/telemetry').find((m) => 'Acme site-a/CP_2' in m),
    );
    expect(t).toEqual({
      'Acme site-a/CP_2': [{ ts: Date.parse('2026-11-23T10:00:00.000Z'), values: { voltage: 229.8 } }],
    });
    expect(JSON.stringify(tb.messages)).not.toContain('${');
  });

  it('a trimmed messageTypeFilter applies to DataTransfer; one placeholder keeps its type, mixed text is text', async () => {
    const cp = await chargePoint('CP_3');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('DataTransfer', { vendorId: 'acme', data: '{"temp": 21.5}' });
    const t = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/telemetry').find((m) => 'Acme site-a/CP_3' in m),
    );
    const [entry] = t['Acme site-a/CP_3'] as { values: Record<string, unknown> }[];
    expect(entry?.values).toEqual({ temp: 21.5, summary: 'acme: 21.5 C' });
  });

  it("StopTransaction's own timestamp becomes ts", async () => {
    const cp = await chargePoint('CP_4');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('StopTransaction', {
      transactionId: 1,
      meterStop: 4200,
      timestamp: '2026-11-20T12:00:00.000Z',
    });
    const t = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/telemetry').find((m) => 'Acme site-a/CP_4' in m),
    );
    expect(t).toEqual({
      'Acme site-a/CP_4': [{ ts: Date.parse('2026-11-20T12:00:00.000Z'), values: { meterStop: 4200 } }],
    });
  });

  it('an attributeUpdates entry with action sends that OCPP action; without it, DataTransfer with vendorId/messageId', async () => {
    const cp = await chargePoint('CP_5');
    await cp.call('BootNotification', aBootNotification());
    const change = new Promise((resolve) =>
      cp.handle('ChangeConfiguration', ({ params }) => (resolve(params), { status: 'Accepted' })),
    );
    const transfer = new Promise((resolve) =>
      cp.handle('DataTransfer', ({ params }) => (resolve(params), { status: 'Accepted' })),
    );
    await tb.sendAttributeUpdate('Acme site-a/CP_5', { maxCurrent: 16, greeting: 'hi' });
    expect(await change).toEqual({ key: 'MaxCurrent', value: '16' });
    expect(await transfer).toEqual({ vendorId: 'acme', messageId: 'hello', data: 'hi' });
  });

  it('RPC entries: an action entry sends rendered JSON; a timeout gets an error reply', async () => {
    const cp = await chargePoint('CP_6');
    await cp.call('BootNotification', aBootNotification());
    cp.handle('ChangeConfiguration', ({ params }) => ({
      status: (params as { key: string }).key === 'A' ? 'Accepted' : 'Rejected',
    }));
    cp.handle('DataTransfer', () => new Promise(() => undefined)); // never answers
    expect(await tb.rpc('Acme site-a/CP_6', 1, 'setConfig', { key: 'A', value: 5 })).toEqual({
      result: { status: 'Accepted' },
    });
    const timedOut = (await tb.rpc('Acme site-a/CP_6', 2, 'slow', { slow: true })) as { error: string };
    expect(timedOut.error).toMatch(/no answer to DataTransfer within 1 s/);
  });

  it('withResponse false: the charge point gets the call but ThingsBoard gets no reply', async () => {
    const cp = await chargePoint('CP_6b');
    await cp.call('BootNotification', aBootNotification());
    const got = new Promise((resolve) =>
      cp.handle('DataTransfer', ({ params }) => (resolve(params), { status: 'Accepted' })),
    );
    cp.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    await tb.sendRpc('Acme site-a/CP_6b', 3, 'fireAndForget', { x: 1 });
    expect(await got).toEqual({ vendorId: 'ThingsBoard', data: '{"x":1}' });
    // A later RPC's reply proves the gateway had every chance to answer the first.
    await tb.rpc('Acme site-a/CP_6b', 4, 'setConfig', { key: 'A', value: 1 });
    expect(tb.rpcReplies('Acme site-a/CP_6b', 3)).toEqual([]);
  });

  it('a reconnect without a boot keeps the device; a second connection with the same id replaces the first', async () => {
    const first = await RawChargePoint.open(`${base}/site-a/CP_1`, ['ocpp1.6']);
    const connects = () =>
      tb.fromGateway('v1/gateway/connect').filter((m) => m.device === 'Acme site-a/CP_1').length;
    const before = connects();
    const second = await RawChargePoint.open(`${base}/site-a/CP_1`, ['ocpp1.6']);
    expect(await first.waitClosed()).toBe(1000);
    second.send(
      JSON.stringify([
        2,
        'h1',
        'StatusNotification',
        { connectorId: 1, errorCode: 'NoError', status: 'Charging' },
      ]),
    );
    expect((await second.answerTo('h1'))[0]).toBe(3);
    const attrs = await tb.waitFor(() =>
      tb
        .fromGateway('v1/gateway/attributes')
        .find((m) => (m['Acme site-a/CP_1'] as Record<string, unknown>)?.status_1),
    );
    expect(attrs).toEqual({ 'Acme site-a/CP_1': { status_1: 'Charging' } });
    // The replaced socket's close must not disconnect the device that lives on.
    expect(tb.fromGateway('v1/gateway/disconnect').filter((m) => m.device === 'Acme site-a/CP_1')).toEqual(
      [],
    );
    expect(connects()).toBeGreaterThanOrEqual(before);
    second.close();
    await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/disconnect').find((m) => m.device === 'Acme site-a/CP_1'),
    );
  });

  it('a peer that stops answering pings is dropped and its device disconnected', async () => {
    const cp = await RawChargePoint.open(`${base}/site-a/CP_7`, ['ocpp1.6'], {}, { autoPong: false });
    cp.send(JSON.stringify([2, 'b', 'BootNotification', aBootNotification()]));
    await cp.answerTo('b');
    expect(await cp.waitClosed(5000)).toBe(1006);
    await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/disconnect').find((m) => m.device === 'Acme site-a/CP_7'),
    );
  });

  it('compressed frames from a charge point are inflated message after message', async () => {
    const cp = await RawChargePoint.open(`${base}/site-a/CP_z`, ['ocpp1.6'], {}, { perMessageDeflate: true });
    try {
      expect(cp.ws.extensions).toBe('permessage-deflate');
      // Above the client's 1 KB threshold, so each frame is deflated; the gateway frees its inflate
      // context after every message and must make a new one for the next.
      for (const id of ['z1', 'z2', 'z3']) {
        cp.send(
          JSON.stringify([
            2,
            id,
            'DataTransfer',
            { vendorId: 'acme', data: `{"pad":"${'x'.repeat(1200)}"}` },
          ]),
        );
        expect(await cp.answerTo(id)).toEqual([3, id, { status: 'Accepted' }]);
      }
    } finally {
      cp.close();
    }
  });

  it('a frame above maxMessageSize closes the socket with 1009', async () => {
    const cp = await RawChargePoint.open(`${base}/site-a/CP_8`, ['ocpp1.6']);
    cp.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'x', data: 'y'.repeat(4096) }]));
    expect(await cp.waitClosed()).toBe(1009);
  });

  it('two live charge points resolving to one device name are warned about', async () => {
    const a = await RawChargePoint.open(`${base}/fleet/one`, ['ocpp1.6']);
    const b = await RawChargePoint.open(`${base}/fleet/two`, ['ocpp1.6']);
    try {
      a.send(JSON.stringify([2, 'a', 'BootNotification', aBootNotification()]));
      await a.answerTo('a');
      b.send(JSON.stringify([2, 'b', 'BootNotification', aBootNotification()]));
      await b.answerTo('b');
      const warning = await gateway.waitForLog((l) => String(l.msg).startsWith('several live charge points'));
      expect(warning).toMatchObject({
        level: 40,
        device: 'Acme Wallbox 7',
        chargePointIds: ['fleet/one', 'fleet/two'],
      });
    } finally {
      a.close();
      b.close();
    }
  });

  it('ignores its own publishes echoed back by the broker', () => {
    expect(gateway.logs.some((l) => String(l.msg).includes('attribute update for a device'))).toBe(false);
  });
});

/**
 * Charging sessions end to end through the built CLI (SQLite storage): a session started,
 * interrupted by a gateway restart (1.6) or a reconnect (2.0.1), stopped; its `session` record,
 * the EVSE state attributes and its cost (ocpp.json tariff, or the device's `ocppTariff`), the
 * 2.0.1 `totalCost` of the Ended event and CostUpdated while charging.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, RawChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';
import { ThingsBoardGatewayDevice } from '../helpers/thingsboard-device.js';
import { until } from '../helpers/until.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'S16-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'wallbox',
      sessions: true,
      tariff: { currency: 'EUR', pricePerKWh: 0.4, pricePerMinute: 0.05, pricePerSession: 1 },
    },
    {
      idRegexpPattern: 'S201-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'station',
      sessions: true,
      tariff: { currency: 'EUR', pricePerKWh: 0.5, costUpdatedInterval: 1 },
    },
    {
      idRegexpPattern: 'S21-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'station',
      sessions: true,
      tariff: { currency: 'EUR', pricePerKWh: 0.3, pricePerSession: 0.5, costUpdatedInterval: 0 },
    },
    {
      idRegexpPattern: 'A201-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'station',
      sessions: true,
    },
  ],
};

const minutes = (base: number, m: number): string => new Date(base + m * 60_000).toISOString();

function energy16(wh: string, kw: string, timestamp: string): Record<string, unknown> {
  return {
    timestamp,
    sampledValue: [
      { value: wh, measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' },
      { value: kw, measurand: 'Power.Active.Import', unit: 'kW', context: 'Sample.Periodic' },
    ],
  };
}

function event2(
  eventType: string,
  seqNo: number,
  timestamp: string,
  info: Record<string, unknown>,
  kWh: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    eventType,
    timestamp,
    triggerReason: eventType === 'Ended' ? 'StopAuthorized' : 'MeterValuePeriodic',
    seqNo,
    transactionInfo: info,
    meterValue: [
      {
        timestamp,
        sampledValue: [
          { value: kWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } },
        ],
      },
    ],
    ...extra,
  };
}

describe('sessions end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let device: ThingsBoardGatewayDevice;
  const clients: RpcClient[] = [];
  const raws: RawChargePoint[] = [];

  async function chargePoint(identity: string, version = 'ocpp1.6'): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: h.urls.OCPP!, identity, protocols: [version] });
    clients.push(cp);
    return cp;
  }

  function telemetry(name: string): { ts: number; values: Record<string, unknown> }[] {
    return tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[name] ?? []) as { ts: number; values: Record<string, unknown> }[]);
  }

  function attributes(name: string): Record<string, unknown> {
    return Object.assign(
      {},
      ...tb.fromGateway('v1/gateway/attributes').map((m) => (m[name] ?? {}) as Record<string, unknown>),
    );
  }

  beforeAll(async () => {
    const dir = new TempDir();
    h = await Harness.start({
      dir,
      storage: { type: 'sqlite', data_file_path: join(dir.path, 'gateway.db') },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
      beforeGateway: async (port) => {
        device = await ThingsBoardGatewayDevice.connect(port);
        device.setDeviceShared('A201-1', {
          ocppTariff: { currency: 'USD', pricePerSession: 2, pricePerKWh: 1 },
        });
      },
    });
    tb = h.tb;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    for (const r of raws) await r.shut();
    await h?.stop();
    await device?.close();
  });

  it('OCPP 1.6: started, carried across a gateway restart, stopped → session record with cost', async () => {
    const t0 = Date.now() - 30 * 60_000;
    let cp = await chargePoint('S16-1');
    await cp.call('BootNotification', aBootNotification());
    const start = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'CARD16',
      meterStart: 1000,
      timestamp: minutes(t0, 0),
    })) as { transactionId: number };
    await cp.call('StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Charging',
      timestamp: minutes(t0, 0),
    });
    await cp.call('MeterValues', {
      connectorId: 1,
      transactionId: start.transactionId,
      meterValue: [energy16('4000', '7.2', minutes(t0, 10))],
    });
    await tb.waitFor(() => attributes('S16-1').evse_1_energyWh === 3000, 10_000, 'energy so far');
    expect(attributes('S16-1')).toMatchObject({
      evse_1_status: 'Charging',
      evse_1_transactionId: String(start.transactionId),
      evse_1_idToken: '*****6',
      evse_1_transactionStart: minutes(t0, 0),
      evse_1_powerW: 7200,
    });

    await cp.close({ force: true });
    await h.restartGateway();
    cp = await chargePoint('S16-1'); // reconnects without booting
    // Without a transactionId: the open transaction of connector 1, as the store kept it.
    await cp.call('MeterValues', {
      connectorId: 1,
      meterValue: [energy16('6000', '11', minutes(t0, 20))],
    });
    await cp.call('StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'SuspendedEV',
      timestamp: minutes(t0, 25),
    });
    await expect(
      cp.call('StopTransaction', {
        transactionId: start.transactionId,
        meterStop: 7000,
        timestamp: minutes(t0, 30),
        reason: 'EVDisconnected',
      }),
    ).resolves.toEqual({});

    const ended = await tb.waitFor(() => telemetry('S16-1').find((t) => t.values.session !== undefined));
    // 1 € per session + 6 kWh × 0.40 € + 25 minutes charging × 0.05 €
    expect(ended).toEqual({
      ts: Date.parse(minutes(t0, 30)),
      values: {
        session: {
          transactionId: String(start.transactionId),
          idToken: '*****6',
          evseId: 1,
          start: minutes(t0, 0),
          stop: minutes(t0, 30),
          durationSeconds: 1800,
          energyWh: 6000,
          maxPowerW: 11000,
          stopReason: 'EVDisconnected',
          cost: 4.65,
          currency: 'EUR',
        },
        sessionEnergyWh: 6000,
        sessionDurationSeconds: 1800,
        sessionCost: 4.65,
      },
    });
    await tb.waitFor(() => attributes('S16-1').evse_1_transactionId === '', 10_000, 'EVSE state cleared');
    expect(attributes('S16-1')).toMatchObject({
      evse_1_energyWh: 0,
      evse_1_powerW: 0,
      evse_1_idToken: '',
      evse_1_cost: 0,
    });
  });

  it('OCPP 1.6: a stop of a transaction the gateway never saw gives a partial record', async () => {
    const cp = await chargePoint('S16-2');
    await cp.call('BootNotification', aBootNotification());
    const stop = new Date().toISOString();
    await cp.call('StopTransaction', { transactionId: 424242, meterStop: 10, timestamp: stop });
    const ended = await tb.waitFor(() => telemetry('S16-2').find((t) => t.values.session !== undefined));
    expect(ended.values.session).toEqual({
      transactionId: '424242',
      stop,
      stopReason: 'Local',
      partial: true,
      cost: 1,
      currency: 'EUR',
    });
  });

  it('OCPP 1.6: a meter register of 1e309 is no reading (never published as null)', async () => {
    // A raw client: a JSON library would not write 1e309; the 1.6 schema's integer admits it.
    const cp = await RawChargePoint.open(`${h.urls.OCPP!}/S16-3`, ['ocpp1.6']);
    raws.push(cp);
    const t0 = Date.now() - 10 * 60_000;
    cp.send(JSON.stringify([2, 'b', 'BootNotification', aBootNotification()]));
    await cp.answerTo('b');
    cp.send(
      `[2,"s","StartTransaction",{"connectorId":1,"idTag":"CARD16","meterStart":1e309,"timestamp":"${minutes(t0, 0)}"}]`,
    );
    const started = (await cp.answerTo('s'))[2] as { transactionId: number };
    cp.send(
      `[2,"e","StopTransaction",{"transactionId":${started.transactionId},"meterStop":1e309,"timestamp":"${minutes(t0, 10)}"}]`,
    );
    expect((await cp.answerTo('e'))[0]).toBe(3);
    const ended = await tb.waitFor(() => telemetry('S16-3').find((t) => t.values.session !== undefined));
    // 1 € per session + 10 minutes × 0.05 €; no energy, so nothing priced by the kWh.
    expect(ended.values).toEqual({
      session: {
        transactionId: String(started.transactionId),
        idToken: '*****6',
        evseId: 1,
        start: minutes(t0, 0),
        stop: minutes(t0, 10),
        durationSeconds: 600,
        stopReason: 'Local',
        cost: 1.5,
        currency: 'EUR',
      },
      sessionDurationSeconds: 600,
      sessionCost: 1.5,
    });
    const published = tb.messages.filter((m) => m.raw.includes('"S16-3"')).map((m) => m.raw);
    for (const raw of published) expect(raw).not.toContain('null');
  });

  it('OCPP 1.6: open transactions per charge point are bounded; the oldest are closed as Unknown', async () => {
    const cp = await chargePoint('S16-4');
    await cp.call('BootNotification', aBootNotification());
    const t0 = Date.now() - 3600_000;
    const ids: number[] = [];
    // A station that starts on ever new connectors and never stops: 70 starts, 64 kept open.
    for (let i = 0; i < 70; i++) {
      const started = (await cp.call('StartTransaction', {
        connectorId: 100 + i,
        idTag: 'CARD16',
        meterStart: 0,
        timestamp: new Date(t0 + i * 1000).toISOString(),
      })) as { transactionId: number };
      ids.push(started.transactionId);
    }
    const closed = await tb.waitFor(() => {
      const records = telemetry('S16-4')
        .map((t) => t.values.session as { transactionId: string; stopReason: string } | undefined)
        .filter((r) => r !== undefined);
      return records.length >= 6 && records;
    });
    expect(closed.map((r) => [r.transactionId, r.stopReason])).toEqual(
      ids.slice(0, 6).map((id) => [String(id), 'Unknown']),
    );
  });

  it('OCPP 2.0.1: CostUpdated while charging, a reconnect, then totalCost on the Ended event', async () => {
    const t0 = Date.now() - 10 * 60_000;
    const costUpdates: Record<string, unknown>[] = [];
    const handleCost = (cs: RpcClient): void =>
      cs.handle('CostUpdated', ({ params }) => (costUpdates.push(params as Record<string, unknown>), {}));
    let cs = await chargePoint('S201-1', 'ocpp2.0.1');
    handleCost(cs);
    await cs.call('BootNotification', aBootNotification2());
    const info = (chargingState: string): Record<string, unknown> => ({
      transactionId: 'TX-S1',
      chargingState,
    });
    await cs.call(
      'TransactionEvent',
      event2('Started', 0, minutes(t0, 0), info('EVConnected'), 0, {
        evse: { id: 1, connectorId: 1 },
        triggerReason: 'CablePluggedIn',
      }),
    );
    await cs.call(
      'TransactionEvent',
      event2('Updated', 1, minutes(t0, 1), info('Charging'), 2.5, {
        idToken: { idToken: 'CARD201', type: 'ISO14443' },
      }),
    );
    await tb.waitFor(() => costUpdates.length > 0, 10_000, 'CostUpdated');
    expect(costUpdates[0]).toEqual({ totalCost: expect.any(Number), transactionId: 'TX-S1' });

    await cs.close({ force: true });
    cs = await chargePoint('S201-1', 'ocpp2.0.1');
    handleCost(cs);
    // I03: totalCost only in the answer to the Ended event; an Updated one gets none.
    await expect(
      cs.call('TransactionEvent', event2('Updated', 2, minutes(t0, 5), info('Charging'), 10)),
    ).resolves.toEqual({});
    // I03.FR: the final cost in the answer to the Ended event: 12 kWh × 0.50 €.
    await expect(
      cs.call(
        'TransactionEvent',
        event2('Ended', 3, minutes(t0, 6), { ...info('EVConnected'), stoppedReason: 'Local' }, 12),
      ),
    ).resolves.toEqual({ totalCost: 6 });
    const ended = await tb.waitFor(() => telemetry('S201-1').find((t) => t.values.session !== undefined));
    expect(ended.values.session).toEqual({
      transactionId: 'TX-S1',
      idToken: '******1',
      evseId: 1,
      connectorId: 1,
      start: minutes(t0, 0),
      stop: minutes(t0, 6),
      durationSeconds: 360,
      energyWh: 12000,
      stopReason: 'Local',
      cost: 6,
      currency: 'EUR',
    });
  });

  it('OCPP 2.1: totalCost on the Ended event and the session record, as in 2.0.1', async () => {
    const t0 = Date.now() - 20 * 60_000;
    const cs = await RawChargePoint.open(`${h.urls.OCPP!}/S21-1`, ['ocpp2.1']);
    raws.push(cs);
    const send = async (id: string, action: string, payload: Record<string, unknown>) => {
      cs.send(JSON.stringify([2, id, action, payload]));
      return cs.answerTo(id);
    };
    await send('b', 'BootNotification', {
      reason: 'PowerUp',
      chargingStation: { model: 'M', vendorName: 'V' },
    });
    const info = { transactionId: 'TX-21' };
    expect(
      await send(
        's',
        'TransactionEvent',
        event2('Started', 0, minutes(t0, 0), info, 1, {
          evse: { id: 1, connectorId: 1 },
          idToken: { idToken: 'CARD21', type: 'ISO14443' },
        }),
      ),
    ).toEqual([3, 's', { idTokenInfo: { status: 'Accepted' } }]);
    // 10 kWh × 0.30 € + 0.50 € per session.
    expect(
      await send(
        'e',
        'TransactionEvent',
        event2('Ended', 1, minutes(t0, 20), { ...info, stoppedReason: 'Local' }, 11),
      ),
    ).toEqual([3, 'e', { totalCost: 3.5 }]);
    const ended = await tb.waitFor(() => telemetry('S21-1').find((t) => t.values.session !== undefined));
    expect(ended.values.session).toEqual({
      transactionId: 'TX-21',
      idToken: '*****1',
      evseId: 1,
      connectorId: 1,
      start: minutes(t0, 0),
      stop: minutes(t0, 20),
      durationSeconds: 1200,
      energyWh: 10000,
      stopReason: 'Local',
      cost: 3.5,
      currency: 'EUR',
    });
  });

  it("OCPP 2.0.1: the device's ocppTariff attribute prices the session", async () => {
    const t0 = Date.now() - 5 * 60_000;
    const cs = await chargePoint('A201-1', 'ocpp2.0.1');
    await cs.call('BootNotification', aBootNotification2());
    const info = { transactionId: 'TX-A1', chargingState: 'Charging' };
    await cs.call(
      'TransactionEvent',
      event2('Started', 0, minutes(t0, 0), info, 0, { evse: { id: 2, connectorId: 1 } }),
    );
    // The tariff is read from ThingsBoard once the transaction is seen; its cost shows in the EVSE state.
    let seqNo = 1;
    await until(async () => {
      await cs.call('TransactionEvent', event2('Updated', seqNo++, minutes(t0, 1), info, 1));
      return attributes('A201-1').evse_2_cost !== undefined;
    }, 'the tariff from ThingsBoard');
    await expect(
      cs.call(
        'TransactionEvent',
        event2('Ended', seqNo, minutes(t0, 2), { ...info, stoppedReason: 'EVDisconnected' }, 3),
      ),
    ).resolves.toEqual({ totalCost: 5 });
    const ended = await tb.waitFor(() => telemetry('A201-1').find((t) => t.values.session !== undefined));
    expect(ended.values).toMatchObject({
      session: { cost: 5, currency: 'USD', energyWh: 3000 },
      sessionCost: 5,
    });
  });
});

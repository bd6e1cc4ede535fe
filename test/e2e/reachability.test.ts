/**
 * Every connected charge point is reachable from ThingsBoard, through the built CLI: a device
 * whose name needs only `${ChargePointId}` is announced when its socket opens; one whose name
 * needs boot data is announced under its charge point id if it stays silent; RPCs are routed by
 * device name or by charge point id. And OCPP 2.1's Central-System actions (GetTariffs,
 * NotifyWebPaymentStarted, …) go to the station, while a station-side action asked of ThingsBoard
 * is answered with what it is, not "unknown".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, RawChargePoint, type RpcClient } from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0, announceUnbootedAfter: 1 },
  chargePoints: [
    {
      idRegexpPattern: 'ID-.*',
      deviceNameExpression: 'site ${ChargePointId}',
      deviceTypeExpression: 'wallbox',
    },
    {
      idRegexpPattern: 'BOOT-.*',
      deviceNameExpression: '${Vendor} ${ChargePointId}',
      deviceTypeExpression: '${Model}',
    },
    { idRegexpPattern: 'X21-.*', deviceNameExpression: '${ChargePointId}', deviceTypeExpression: 'x' },
  ],
};

const CONFIG = { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '60' }] };

describe('reachability and 2.1 action directions', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  const clients: RpcClient[] = [];
  const raws: RawChargePoint[] = [];

  async function chargePoint(identity: string): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: h.urls.OCPP!, identity });
    cp.handle('GetConfiguration', () => CONFIG);
    clients.push(cp);
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({ connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    tb = h.tb;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    for (const r of raws) await r.shut();
    await h?.stop();
  });

  it('a name that needs only ${ChargePointId} is announced when the socket opens, without a boot', async () => {
    await chargePoint('ID-1');
    const connect = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'site ID-1'),
    );
    expect(connect).toEqual({ device: 'site ID-1', type: 'wallbox' });
    expect(await tb.rpc('site ID-1', 1, 'GetConfiguration', {})).toEqual({ result: CONFIG });
  });

  it('an RPC addressed to the charge point id reaches it too', async () => {
    expect(await tb.rpc('ID-1', 2, 'GetConfiguration', {})).toEqual({ result: CONFIG });
  });

  it('a silent charge point whose name needs boot data is reachable by its id, announced under it, renamed at boot', async () => {
    const cp = await chargePoint('BOOT-1');
    expect(await tb.rpc('BOOT-1', 3, 'GetConfiguration', {})).toEqual({ result: CONFIG });
    const early = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'BOOT-1'),
    );
    expect(early).toEqual({ device: 'BOOT-1', type: 'default' });
    await cp.call('BootNotification', aBootNotification());
    const booted = await tb.waitFor(() =>
      tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'Acme BOOT-1'),
    );
    expect(booted).toEqual({ device: 'Acme BOOT-1', type: 'Wallbox 7' });
    expect(tb.fromGateway('v1/gateway/disconnect')).toContainEqual({ device: 'BOOT-1' });
  });

  it('after a gateway restart (memory storage), silent stations are reachable by device name and by charge point id', async () => {
    const named = await chargePoint('ID-2');
    await named.call('BootNotification', aBootNotification());
    const booted = await chargePoint('BOOT-2');
    await booted.call('BootNotification', aBootNotification());
    await tb.waitFor(() => tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'Acme BOOT-2'));
    await named.close({ force: true });
    await booted.close({ force: true });
    await h.restartGateway();
    const seen = tb.messages.length;
    // Both reconnect to the new process and send nothing: no BootNotification, no other CALL.
    await chargePoint('ID-2');
    await chargePoint('BOOT-2');
    expect(await tb.rpc('site ID-2', 20, 'GetConfiguration', {})).toEqual({ result: CONFIG });
    expect(await tb.rpc('ID-2', 21, 'GetConfiguration', {})).toEqual({ result: CONFIG });
    // Nothing remembers the boot data of BOOT-2's name: until it boots it is its charge point id.
    expect(await tb.rpc('BOOT-2', 22, 'GetConfiguration', {})).toEqual({ result: CONFIG });
    const announced = await tb.waitFor(() => {
      const connects = tb.messages.slice(seen).filter((m) => m.topic === 'v1/gateway/connect');
      const devices = connects.map((m) => m.json.device);
      return devices.includes('site ID-2') && devices.includes('BOOT-2') && connects.map((m) => m.json);
    });
    expect(announced).toContainEqual({ device: 'site ID-2', type: 'wallbox' });
    expect(announced).toContainEqual({ device: 'BOOT-2', type: 'default' });
  });

  describe('OCPP 2.1', () => {
    let cs: RawChargePoint;
    beforeAll(async () => {
      cs = await RawChargePoint.open(`${h.urls.OCPP!}/X21-1`, ['ocpp2.1']);
      raws.push(cs);
      cs.send(
        JSON.stringify([
          2,
          'b1',
          'BootNotification',
          { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } },
        ]),
      );
      await cs.answerTo('b1');
    });

    it.each([
      ['GetTariffs', { evseId: 1 }, { status: 'NoTariff' }, 4],
      ['NotifyWebPaymentStarted', { evseId: 1, timeout: 60 }, {}, 5],
      [
        'NotifyAllowedEnergyTransfer',
        { transactionId: 'T1', allowedEnergyTransfer: ['AC_single_phase'] },
        { status: 'Accepted' },
        6,
      ],
    ])(
      'RPC %s is sent to the station (a Central System action in 2.1)',
      async (action, params, answer, id) => {
        const reply = tb.rpc('X21-1', id, action, params);
        const call = await cs.nextCall();
        expect(call.slice(2)).toEqual([action, params]);
        cs.answer(call[1], answer);
        expect(await reply).toEqual({ result: answer });
      },
    );

    it('an RPC named after a station action says so instead of "unknown"', async () => {
      const reply = (await tb.rpc('X21-1', 10, 'NotifyEVChargingNeeds', {})) as { error: string };
      expect(reply.error).toMatch(
        /"NotifyEVChargingNeeds" is sent by a charge point to the Central System in ocpp2\.1/,
      );
    });

    it('the station sending GetTariffs gets NotSupported: it is the Central System that sends it', async () => {
      cs.send(JSON.stringify([2, 'g1', 'GetTariffs', { evseId: 1 }]));
      expect(await cs.answerTo('g1')).toEqual([
        4,
        'g1',
        'NotSupported',
        'GetTariffs is sent by a Central System, not a charge point',
        {},
      ]);
    });
  });
});

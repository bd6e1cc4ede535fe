/**
 * Registration end to end through the built CLI: chargePoints entries with `registration`
 * Pending or Rejected; the device is announced while pending, other station messages get
 * CALLERROR SecurityError (OCPP 2.0.1 B02.FR.09, B03.FR.07), configuration RPCs pass, others are
 * refused; the operator approves with the device's shared attribute `ocppRegistration` and the
 * station is asked to boot again; the approval survives a gateway restart (SQLite state).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';
import { ThingsBoardGatewayDevice } from '../helpers/thingsboard-device.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0, heartbeatInterval: 300 },
  chargePoints: [
    {
      idRegexpPattern: 'P16-.*',
      deviceNameExpression: 'pending ${ChargePointId}',
      deviceTypeExpression: '${Model}',
      registration: 'Pending',
      registrationRetryInterval: 20,
    },
    {
      idRegexpPattern: 'P201-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      registration: 'Pending',
    },
    {
      idRegexpPattern: 'R16-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      registration: 'Rejected',
    },
  ],
};

const NOW = (): string => new Date().toISOString();
const STATUS16 = (): Record<string, unknown> => ({
  connectorId: 1,
  errorCode: 'NoError',
  status: 'Available',
  timestamp: NOW(),
});
const STATUS201 = (): Record<string, unknown> => ({
  timestamp: NOW(),
  connectorStatus: 'Available',
  evseId: 1,
  connectorId: 1,
});

describe('registration end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let device: ThingsBoardGatewayDevice;
  const clients: RpcClient[] = [];

  async function chargePoint(identity: string, version = 'ocpp1.6'): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: h.urls.OCPP!, identity, protocols: [version] });
    clients.push(cp);
    return cp;
  }

  beforeAll(async () => {
    const dir = new TempDir();
    h = await Harness.start({
      dir,
      storage: { type: 'sqlite', data_file_path: join(dir.path, 'gateway.db') },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
      beforeGateway: async (port) => {
        device = await ThingsBoardGatewayDevice.connect(port);
      },
    });
    tb = h.tb;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    await h?.stop();
    await device?.close();
  });

  describe('OCPP 1.6, approved from ThingsBoard', () => {
    let cp: RpcClient;
    const triggers: unknown[] = [];
    beforeAll(async () => {
      cp = await chargePoint('P16-1');
      cp.handle('TriggerMessage', ({ params }) => (triggers.push(params), { status: 'Accepted' }));
      cp.handle('GetConfiguration', () => ({
        configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '60' }],
      }));
    });

    it('a boot is answered Pending with the retry interval, and the device is announced', async () => {
      await expect(cp.call('BootNotification', aBootNotification())).resolves.toEqual({
        status: 'Pending',
        currentTime: expect.any(String),
        interval: 20,
      });
      const connect = await tb.waitFor(() =>
        tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'pending P16-1'),
      );
      expect(connect).toEqual({ device: 'pending P16-1', type: 'Wallbox 7' });
    });

    it('other messages from the pending station get CALLERROR SecurityError', async () => {
      await expect(cp.call('StatusNotification', STATUS16())).rejects.toMatchObject({
        rpcErrorCode: 'SecurityError',
      });
      await expect(cp.call('Heartbeat', {})).rejects.toMatchObject({ rpcErrorCode: 'SecurityError' });
    });

    it('a configuration RPC reaches the pending station; a remote start does not', async () => {
      expect(await tb.rpc('pending P16-1', 1, 'get', { key: 'HeartbeatInterval' })).toEqual({
        result: { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '60' }] },
      });
      const refused = (await tb.rpc('pending P16-1', 2, 'RemoteStartTransaction', { idTag: 'A' })) as {
        error: string;
      };
      expect(refused.error).toMatch(/registration is Pending/);
    });

    it('ocppRegistration = Accepted in ThingsBoard: TriggerMessage BootNotification, and the next boot is Accepted', async () => {
      await tb.sendAttributeUpdate('pending P16-1', { ocppRegistration: 'Accepted' });
      await tb.waitFor(() => triggers.length > 0, 10_000, 'TriggerMessage');
      expect(triggers).toEqual([{ requestedMessage: 'BootNotification' }]);
      await expect(cp.call('BootNotification', aBootNotification())).resolves.toMatchObject({
        status: 'Accepted',
        interval: 300,
      });
      await expect(cp.call('StatusNotification', STATUS16())).resolves.toEqual({});
    });

    it('the approval is kept across a gateway restart', async () => {
      await cp.close({ force: true });
      await h.restartGateway();
      const again = await chargePoint('P16-1');
      await expect(again.call('BootNotification', aBootNotification())).resolves.toMatchObject({
        status: 'Accepted',
      });
      await expect(again.call('StatusNotification', STATUS16())).resolves.toEqual({});
    });
  });

  describe('OCPP 2.0.1, Pending', () => {
    let cs: RpcClient;
    beforeAll(async () => {
      cs = await chargePoint('P201-1', 'ocpp2.0.1');
      cs.handle('GetVariables', ({ params }) => ({
        getVariableResult: (params as { getVariableData: Record<string, unknown>[] }).getVariableData.map(
          (d) => ({
            attributeStatus: 'Accepted',
            component: d.component,
            variable: d.variable,
            attributeValue: '60',
          }),
        ),
      }));
      cs.handle('TriggerMessage', () => ({ status: 'Accepted' }));
    });

    it('TC_B_30: after a Pending boot, StatusNotification and NotifyEvent get SecurityError', async () => {
      await expect(cs.call('BootNotification', aBootNotification2())).resolves.toMatchObject({
        status: 'Pending',
        interval: 30,
      });
      await expect(cs.call('StatusNotification', STATUS201())).rejects.toMatchObject({
        rpcErrorCode: 'SecurityError',
      });
      await expect(
        cs.call('NotifyEvent', {
          generatedAt: NOW(),
          seqNo: 0,
          eventData: [
            {
              eventId: 1,
              timestamp: NOW(),
              trigger: 'Delta',
              actualValue: 'Available',
              component: { name: 'Connector', evse: { id: 1, connectorId: 1 } },
              variable: { name: 'AvailabilityState' },
              eventNotificationType: 'HardWiredNotification',
            },
          ],
        }),
      ).rejects.toMatchObject({ rpcErrorCode: 'SecurityError' });
    });

    it('GetVariables reaches it; what a TriggerMessage asked for is taken once (B02.FR.09)', async () => {
      expect(await tb.rpc('P201-1', 3, 'get', { variable: 'HeartbeatInterval' })).toMatchObject({
        result: { getVariableResult: [{ attributeStatus: 'Accepted', attributeValue: '60' }] },
      });
      expect(await tb.rpc('P201-1', 4, 'TriggerMessage', { requestedMessage: 'StatusNotification' })).toEqual(
        {
          result: { status: 'Accepted' },
        },
      );
      await expect(cs.call('StatusNotification', STATUS201())).resolves.toEqual({});
      await expect(cs.call('StatusNotification', STATUS201())).rejects.toMatchObject({
        rpcErrorCode: 'SecurityError',
      });
    });

    it('an approval ThingsBoard never pushed is read at the next boot, which is Accepted', async () => {
      device.setDeviceShared('P201-1', { ocppRegistration: 'Accepted' });
      await expect(cs.call('BootNotification', aBootNotification2())).resolves.toMatchObject({
        status: 'Accepted',
      });
      await expect(cs.call('StatusNotification', STATUS201())).resolves.toEqual({});
      expect(device.attributeRequests).toContainEqual({ device: 'P201-1', keys: ['ocppRegistration'] });
    });
  });

  it('OCPP 2.0.1: ocppRegistration = Accepted pushed by ThingsBoard: TriggerMessage BootNotification, then Accepted', async () => {
    const cs = await chargePoint('P201-2', 'ocpp2.0.1');
    const triggers: unknown[] = [];
    cs.handle('TriggerMessage', ({ params }) => (triggers.push(params), { status: 'Accepted' }));
    await expect(cs.call('BootNotification', aBootNotification2())).resolves.toMatchObject({
      status: 'Pending',
    });
    await expect(cs.call('StatusNotification', STATUS201())).rejects.toMatchObject({
      rpcErrorCode: 'SecurityError',
    });
    await tb.sendAttributeUpdate('P201-2', { ocppRegistration: 'Accepted' });
    await tb.waitFor(() => triggers.length > 0, 10_000, 'TriggerMessage');
    expect(triggers).toEqual([{ requestedMessage: 'BootNotification' }]);
    await expect(cs.call('BootNotification', aBootNotification2())).resolves.toMatchObject({
      status: 'Accepted',
      interval: 300,
    });
    await expect(cs.call('StatusNotification', STATUS201())).resolves.toEqual({});
  });

  it('a station of a Pending entry that never booted cannot skip registration by not booting', async () => {
    const cp = await chargePoint('P16-2');
    await expect(cp.call('StatusNotification', STATUS16())).rejects.toMatchObject({
      rpcErrorCode: 'SecurityError',
    });
    await expect(cp.call('BootNotification', aBootNotification())).resolves.toMatchObject({
      status: 'Pending',
    });
  });

  describe('Rejected', () => {
    it('a Rejected station is announced, refused, and gets no RPC', async () => {
      const cp = await chargePoint('R16-1');
      cp.handle('GetConfiguration', () => ({ configurationKey: [] }));
      await expect(cp.call('BootNotification', aBootNotification())).resolves.toMatchObject({
        status: 'Rejected',
        interval: 30,
      });
      await tb.waitFor(() => tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'R16-1'));
      await expect(cp.call('StatusNotification', STATUS16())).rejects.toMatchObject({
        rpcErrorCode: 'SecurityError',
      });
      const refused = (await tb.rpc('R16-1', 5, 'get', { key: 'HeartbeatInterval' })) as { error: string };
      expect(refused.error).toMatch(/GetConfiguration not sent: the charge point's registration is Rejected/);
    });
  });
});

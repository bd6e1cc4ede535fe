/**
 * OCPP 1.6, 2.0.1 and 2.1 charge points on the same port of one gateway (the built CLI), each
 * booting, sending transaction data and receiving RPCs, with the exact MQTT payloads asserted.
 * 1.6 and 2.0.1 are ocpp-rpc clients in strict mode (every frame both ways checked against the
 * official schemas); 2.1 is raw WebSocket frames, as ocpp-rpc's 2.1 strict mode is broken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  aMeterValues,
  connectChargePoint,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2, aMeterValues2, aTransactionEvent } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const DEV16 = 'CP16';
const DEV201 = 'Acme Wallbox 201';
const DEV21 = 'Acme Wallbox 21';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const ENERGY = "${meterValue[:].sampledValue[?(@.measurand=='Energy.Active.Import.Register')].value}";

const OCPP_JSON = (port: number, ocppVersions?: string[]): Record<string, unknown> => ({
  centralSystem: {
    name: 'Central System',
    host: '127.0.0.1',
    port,
    connection: { type: 'insecure' },
    heartbeatInterval: 300,
    ...(ocppVersions ? { ocppVersions } : {}),
  },
  chargePoints: [
    {
      // Written for 1.6 the way the Python connector's configs are (snake_case paths).
      idRegexpPattern: 'CP16',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Vendor}',
      timeseries: [
        {
          messageTypeFilter: 'MeterValues,',
          key: 'energy',
          value: "${meter_value[:].sampled_value[?(@.measurand=='Energy.Active.Import.Register')].value}",
        },
      ],
    },
    {
      idRegexpPattern: 'CP2\\d+',
      deviceNameExpression: '${Vendor} ${Model}',
      deviceTypeExpression: '${Model}',
      attributes: [
        { messageTypeFilter: 'BootNotification,', key: 'serial', value: '${charging_station.serial_number}' },
        {
          messageTypeFilter: 'BootNotification,',
          key: 'firmware',
          value: '${chargingStation.firmwareVersion}',
        },
      ],
      timeseries: [
        { messageTypeFilter: 'TransactionEvent, MeterValues', key: 'energy', value: ENERGY },
        {
          messageTypeFilter: 'TransactionEvent',
          key: 'voltage',
          value: "${meter_value[:].sampled_value[?(@.measurand=='Voltage')].value}",
        },
        {
          messageTypeFilter: 'TransactionEvent',
          key: 'chargingState',
          value: '${transaction_info.charging_state}',
        },
      ],
    },
  ],
});

type Entry = { ts: number; values: Record<string, unknown> };

/** A GetVariables request for OCPPCommCtrlr.HeartbeatInterval and its answer (2.0.1 and 2.1 alike). */
const GET_HEARTBEAT_INTERVAL = {
  getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }],
};
const HEARTBEAT_INTERVAL_IS_300 = {
  getVariableResult: [
    {
      attributeStatus: 'Accepted',
      component: { name: 'OCPPCommCtrlr' },
      variable: { name: 'HeartbeatInterval' },
      attributeValue: '300',
    },
  ],
};

describe('OCPP 1.6, 2.0.1 and 2.1 on one port', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let base: string;
  let legacyBase: string;
  let cp16: RpcClient | undefined;
  let cp201: RpcClient | undefined;
  let cp21: RawChargePoint | undefined;
  const raws: RawChargePoint[] = [];
  let rpcId = 100;

  /** Every telemetry entry published for `device`, in timestamp order (packing may vary). */
  const telemetryOf = (device: string): Entry[] =>
    tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[device] as Entry[] | undefined) ?? [])
      .sort((a, b) => a.ts - b.ts);

  const waitForTelemetry = (device: string, n: number): Promise<Entry[]> =>
    tb.waitFor(
      () => (telemetryOf(device).length >= n ? telemetryOf(device) : undefined),
      10_000,
      `${n} entries of ${device}`,
    );

  /** Registers a one-shot handler on an ocpp-rpc client and resolves with the params it got. */
  const expectCall = (cp: RpcClient | undefined, action: string, response: unknown): Promise<unknown> =>
    new Promise((resolve) =>
      cp?.handle(action, ({ params }) => {
        resolve(params);
        return response;
      }),
    );

  beforeAll(async () => {
    h = await Harness.start({
      accessToken: 'GW_VERSIONS',
      connectors: [
        { name: 'All versions', ocpp: OCPP_JSON(0) },
        { name: 'Legacy only', ocpp: OCPP_JSON(0, ['ocpp1.6']) },
      ],
    });
    ({ tb } = h);
    base = h.urls['All versions']!;
    legacyBase = h.urls['Legacy only']!;
  });

  afterAll(async () => {
    await cp16?.close({ force: true }).catch(() => undefined);
    await cp201?.close({ force: true }).catch(() => undefined);
    await cp21?.shut();
    for (const raw of raws) await raw.shut();
    await h?.stop();
  });

  describe('subprotocol negotiation', () => {
    it.each([
      ['All versions', ['ocpp1.6', 'ocpp2.0.1'], 'ocpp2.0.1'],
      ['All versions', ['ocpp2.1', 'ocpp1.6', 'ocpp2.0.1'], 'ocpp2.1'],
      ['All versions', ['ocpp1.6'], 'ocpp1.6'],
      ['Legacy only', ['ocpp1.6', 'ocpp2.0.1'], 'ocpp1.6'],
    ])('%s, offered %j → %s', async (connector, offered, chosen) => {
      const url = `${connector === 'Legacy only' ? legacyBase : base}/CP16`;
      const raw = await RawChargePoint.open(url, offered);
      raws.push(raw);
      expect(raw.ws.protocol).toBe(chosen);
      await raw.shut();
    });
  });

  describe('OCPP 2.0.1 (ocpp-rpc strict)', () => {
    it('boots → v1/gateway/connect named from chargingStation.vendorName/model, attributes in either case', async () => {
      cp201 = await connectChargePoint({ url: base, identity: 'CP201', protocols: ['ocpp2.0.1'] });
      expect(cp201.protocol).toBe('ocpp2.0.1');
      const answer = (await cp201.call(
        'BootNotification',
        aBootNotification2({ firmwareVersion: '1.2.3' }),
      )) as Record<string, unknown>;
      expect(answer).toEqual({ status: 'Accepted', currentTime: expect.stringMatching(ISO), interval: 300 });
      const connect = await tb.waitFor(() =>
        tb.fromGateway('v1/gateway/connect').find((m) => m.device === DEV201),
      );
      expect(connect).toEqual({ device: DEV201, type: 'Wallbox 201' });
      const attrs = await tb.waitFor(() => tb.fromGateway('v1/gateway/attributes').find((m) => DEV201 in m));
      expect(attrs).toEqual({ [DEV201]: { serial: 'SN-201', firmware: '1.2.3' } });
    });

    it('TransactionEvent and MeterValues → telemetry stamped with their own timestamps', async () => {
      expect(await cp201?.call('TransactionEvent', aTransactionEvent())).toEqual({});
      const withToken = aTransactionEvent({
        eventType: 'Started',
        triggerReason: 'Authorized',
        seqNo: 0,
        idToken: { idToken: 'TAG1', type: 'ISO14443' },
        meterValue: undefined,
        transactionInfo: { transactionId: 'TX-0' },
      });
      delete withToken.meterValue;
      expect(await cp201?.call('TransactionEvent', withToken)).toEqual({
        idTokenInfo: { status: 'Accepted' },
      });
      expect(await cp201?.call('MeterValues', aMeterValues2())).toEqual({});
      expect(await waitForTelemetry(DEV201, 3)).toEqual([
        { ts: Date.parse('2026-11-23T10:04:00.000Z'), values: { energy: 1234.5, voltage: 229.8 } },
        { ts: Date.parse('2026-11-23T10:05:00.000Z'), values: { chargingState: 'Charging' } },
        { ts: Date.parse('2026-11-23T10:06:00.000Z'), values: { energy: 1300.25 } },
      ]);
    });

    it('other charge-point-initiated 2.0.1 actions get schema-valid answers', async () => {
      await expect(cp201?.call('Heartbeat', {})).resolves.toEqual({
        currentTime: expect.stringMatching(ISO),
      });
      await expect(
        cp201?.call('Authorize', { idToken: { idToken: 'TAG1', type: 'ISO14443' } }),
      ).resolves.toEqual({
        idTokenInfo: { status: 'Accepted' },
      });
      await expect(
        cp201?.call('StatusNotification', {
          timestamp: '2026-11-23T10:00:00.000Z',
          connectorStatus: 'Occupied',
          evseId: 1,
          connectorId: 1,
        }),
      ).resolves.toEqual({});
      await expect(
        cp201?.call('NotifyReport', { requestId: 1, generatedAt: '2026-11-23T10:00:00.000Z', seqNo: 0 }),
      ).resolves.toEqual({});
      // No mapping entry and no dataTransferVendors entry takes it.
      await expect(cp201?.call('DataTransfer', { vendorId: 'acme' })).resolves.toEqual({
        status: 'UnknownVendorId',
      });
      await expect(
        cp201?.call('SecurityEventNotification', { type: 'X', timestamp: '2026-11-23T10:00:00.000Z' }),
      ).resolves.toEqual({});
    });

    it.each([
      ['Reset', { type: 'Immediate' }, { status: 'Accepted' }],
      [
        'RequestStartTransaction',
        { idToken: { idToken: 'TAG1', type: 'ISO14443' }, remoteStartId: 7, evseId: 1 },
        { status: 'Accepted', transactionId: 'TX-7' },
      ],
      ['GetVariables', GET_HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL_IS_300],
    ])('RPC %s is sent as that action with params as payload', async (method, params, response) => {
      const received = expectCall(cp201, method, response);
      const reply = await tb.rpc(DEV201, ++rpcId, method, params);
      expect(await received).toEqual(params);
      expect(reply).toEqual({ result: response });
    });

    it('RPC get → GetVariables, set → SetVariables', async () => {
      const result = {
        attributeStatus: 'Accepted',
        component: { name: 'OCPPCommCtrlr' },
        variable: { name: 'HeartbeatInterval' },
      };
      const got = expectCall(cp201, 'GetVariables', {
        getVariableResult: [{ ...result, attributeValue: '300' }],
      });
      const getReply = await tb.rpc(DEV201, ++rpcId, 'get', {
        component: 'OCPPCommCtrlr',
        variable: 'HeartbeatInterval',
      });
      expect(await got).toEqual({
        getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }],
      });
      expect(getReply).toEqual({ result: { getVariableResult: [{ ...result, attributeValue: '300' }] } });

      const set = expectCall(cp201, 'SetVariables', { setVariableResult: [result] });
      const setReply = await tb.rpc(DEV201, ++rpcId, 'set', {
        component: 'OCPPCommCtrlr',
        variable: 'HeartbeatInterval',
        value: '120',
      });
      expect(await set).toEqual({
        setVariableData: [
          {
            component: { name: 'OCPPCommCtrlr' },
            variable: { name: 'HeartbeatInterval' },
            attributeValue: '120',
          },
        ],
      });
      expect(setReply).toEqual({ result: { setVariableResult: [result] } });
    });

    it.each([
      [
        'a 1.6 action',
        'RemoteStartTransaction',
        { idTag: 'TAG1' },
        /^unknown method "RemoteStartTransaction": no serverSideRpc entry and not an ocpp2\.0\.1 action$/,
      ],
      [
        '1.6 params',
        'Reset',
        { type: 'Soft' },
        /^PropertyConstraintViolation: Reset request: \/type must be one of Immediate, OnIdle$/,
      ],
    ])('RPC with %s is refused against the 2.0.1 schemas', async (_what, method, params, error) => {
      const reply = (await tb.rpc(DEV201, ++rpcId, method, params)) as { error: string };
      expect(reply.error).toMatch(error);
    });
  });

  describe('OCPP 2.1 (raw frames)', () => {
    it('boots → v1/gateway/connect named from chargingStation.vendorName/model', async () => {
      cp21 = await RawChargePoint.open(`${base}/CP21`, ['ocpp2.1']);
      expect(cp21.ws.protocol).toBe('ocpp2.1');
      cp21.send(
        JSON.stringify([
          2,
          'b1',
          'BootNotification',
          aBootNotification2({ model: 'Wallbox 21', serialNumber: 'SN-21' }),
        ]),
      );
      expect(await cp21.answerTo('b1')).toEqual([
        3,
        'b1',
        { status: 'Accepted', currentTime: expect.stringMatching(ISO), interval: 300 },
      ]);
      const connect = await tb.waitFor(() =>
        tb.fromGateway('v1/gateway/connect').find((m) => m.device === DEV21),
      );
      expect(connect).toEqual({ device: DEV21, type: 'Wallbox 21' });
      // firmwareVersion absent: that attribute is skipped, never published as "${…}".
      const attrs = await tb.waitFor(() => tb.fromGateway('v1/gateway/attributes').find((m) => DEV21 in m));
      expect(attrs).toEqual({ [DEV21]: { serial: 'SN-21' } });
    });

    it('TransactionEvent and MeterValues → telemetry stamped with their own timestamps', async () => {
      const te = aTransactionEvent({
        timestamp: '2026-11-23T11:05:00.000Z',
        meterValue: [
          {
            timestamp: '2026-11-23T11:04:00.000Z',
            sampledValue: [
              { value: 42, measurand: 'Energy.Active.Import.Register' },
              { value: 231, measurand: 'Voltage' },
            ],
          },
        ],
        transactionInfo: { transactionId: 'TX-21', chargingState: 'SuspendedEV' },
      });
      cp21?.send(JSON.stringify([2, 't1', 'TransactionEvent', te]));
      cp21?.send(
        JSON.stringify([
          2,
          'm1',
          'MeterValues',
          aMeterValues2({
            meterValue: [{ timestamp: '2026-11-23T11:06:00.000Z', sampledValue: [{ value: 43.5 }] }],
          }),
        ]),
      );
      expect(await cp21?.answerTo('t1')).toEqual([3, 't1', {}]);
      expect(await cp21?.answerTo('m1')).toEqual([3, 'm1', {}]);
      // The MeterValues sample has no measurand (default Energy.Active.Import.Register), so the filter skips it.
      expect(await waitForTelemetry(DEV21, 2)).toEqual([
        { ts: Date.parse('2026-11-23T11:04:00.000Z'), values: { energy: 42, voltage: 231 } },
        { ts: Date.parse('2026-11-23T11:05:00.000Z'), values: { chargingState: 'SuspendedEV' } },
      ]);
      cp21?.send(
        JSON.stringify([
          2,
          'm2',
          'MeterValues',
          aMeterValues2({
            meterValue: [
              {
                timestamp: '2026-11-23T11:07:00.000Z',
                sampledValue: [{ value: 44, measurand: 'Energy.Active.Import.Register' }],
              },
            ],
          }),
        ]),
      );
      expect(await cp21?.answerTo('m2')).toEqual([3, 'm2', {}]);
      expect((await waitForTelemetry(DEV21, 3))[2]).toEqual({
        ts: Date.parse('2026-11-23T11:07:00.000Z'),
        values: { energy: 44 },
      });
    });

    it.each([
      ['Reset', { type: 'ImmediateAndResume' }, { status: 'Accepted' }],
      [
        'RequestStartTransaction',
        { idToken: { idToken: 'TAG1', type: 'ISO14443' }, remoteStartId: 8 },
        { status: 'Accepted' },
      ],
      ['GetVariables', GET_HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL_IS_300],
      [
        'get',
        { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval' },
        {
          getVariableResult: [
            {
              attributeStatus: 'UnknownVariable',
              component: { name: 'OCPPCommCtrlr' },
              variable: { name: 'HeartbeatInterval' },
            },
          ],
        },
      ],
      [
        'set',
        { component: 'TxCtrlr', variable: 'EVConnectionTimeOut', value: 90 },
        {
          setVariableResult: [
            {
              attributeStatus: 'Accepted',
              component: { name: 'TxCtrlr' },
              variable: { name: 'EVConnectionTimeOut' },
            },
          ],
        },
      ],
    ])('RPC %s → the CALL on the wire, the answer in the reply', async (method, params, response) => {
      const reply = tb.rpc(DEV21, ++rpcId, method, params);
      const call = await cp21?.nextCall();
      const sent = {
        get: [
          'GetVariables',
          {
            getVariableData: [
              { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
            ],
          },
        ],
        set: [
          'SetVariables',
          {
            setVariableData: [
              {
                component: { name: 'TxCtrlr' },
                variable: { name: 'EVConnectionTimeOut' },
                attributeValue: '90',
              },
            ],
          },
        ],
      }[method] ?? [method, params];
      expect(call).toEqual([2, expect.any(String), ...sent]);
      cp21?.answer(call?.[1], response);
      expect(await reply).toEqual({ result: response });
    });

    it('RPC with 1.6 params is refused against the 2.1 schemas, with the 2.1 enum in the message', async () => {
      const reply = (await tb.rpc(DEV21, ++rpcId, 'Reset', { type: 'Hard' })) as { error: string };
      expect(reply).toEqual({
        error:
          'PropertyConstraintViolation: Reset request: /type must be one of Immediate, OnIdle, ImmediateAndResume',
      });
    });
  });

  describe('OCPP 1.6 (ocpp-rpc strict) beside them', () => {
    it('boots → v1/gateway/connect named by ${ChargePointId}, MeterValues → telemetry', async () => {
      cp16 = await connectChargePoint({ url: base, identity: 'CP16', protocols: ['ocpp1.6'] });
      expect(cp16.protocol).toBe('ocpp1.6');
      await expect(cp16.call('BootNotification', aBootNotification())).resolves.toEqual({
        status: 'Accepted',
        currentTime: expect.stringMatching(ISO),
        interval: 300,
      });
      const connect = await tb.waitFor(() =>
        tb.fromGateway('v1/gateway/connect').find((m) => m.device === DEV16),
      );
      expect(connect).toEqual({ device: DEV16, type: 'Acme' });
      await expect(cp16.call('MeterValues', aMeterValues())).resolves.toEqual({});
      // 1.6 sampledValue.value is text on the wire ("1234.5"); numeric text is published as a number.
      expect(await waitForTelemetry(DEV16, 1)).toEqual([
        { ts: Date.parse('2026-11-23T10:00:00.000Z'), values: { energy: 1234.5 } },
      ]);
    });

    it('RPC RemoteStartTransaction is sent as that action', async () => {
      const received = expectCall(cp16, 'RemoteStartTransaction', { status: 'Accepted' });
      const reply = await tb.rpc(DEV16, ++rpcId, 'RemoteStartTransaction', { idTag: 'TAG1', connectorId: 1 });
      expect(await received).toEqual({ idTag: 'TAG1', connectorId: 1 });
      expect(reply).toEqual({ result: { status: 'Accepted' } });
    });

    it('RPC get → GetConfiguration, set → ChangeConfiguration', async () => {
      const configurationKey = [{ key: 'HeartbeatInterval', readonly: false, value: '300' }];
      const got = expectCall(cp16, 'GetConfiguration', { configurationKey });
      const getReply = await tb.rpc(DEV16, ++rpcId, 'get', { key: 'HeartbeatInterval' });
      expect(await got).toEqual({ key: ['HeartbeatInterval'] });
      expect(getReply).toEqual({ result: { configurationKey } });

      const set = expectCall(cp16, 'ChangeConfiguration', { status: 'RebootRequired' });
      const setReply = await tb.rpc(DEV16, ++rpcId, 'set', { key: 'HeartbeatInterval', value: 120 });
      expect(await set).toEqual({ key: 'HeartbeatInterval', value: '120' });
      expect(setReply).toEqual({ result: { status: 'RebootRequired' } });
    });

    it('RPC set without a value gets an error reply and nothing is sent', async () => {
      const reply = (await tb.rpc(DEV16, ++rpcId, 'set', { key: 'HeartbeatInterval' })) as { error: string };
      expect(reply).toEqual({ error: 'FormatViolation: "set" needs a "value" (text, number or boolean)' });
    });
  });

  it('each version closing → v1/gateway/disconnect of its own device', async () => {
    await cp16?.close();
    await cp201?.close();
    await cp21?.shut();
    for (const device of [DEV16, DEV201, DEV21]) {
      const d = await tb.waitFor(() =>
        tb.fromGateway('v1/gateway/disconnect').find((m) => m.device === device),
      );
      expect(d).toEqual({ device });
    }
  });
});

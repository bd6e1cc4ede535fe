/**
 * `tb-ocpp-gateway simulate` against the built gateway, all three OCPP versions at once: the
 * stations boot, run charging sessions whose meter values reach ThingsBoard, and answer what
 * ThingsBoard sends them through the gateway (configuration, variables, triggers, data transfer,
 * remote start/stop, reset).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { runSimulator, type SimulatorRun } from '../helpers/simulator-run.js';

const byMeasurand = (m: string) => `\${meter_value[0].sampled_value[?(@.measurand=='${m}')].value}`;
const series = (filter: string) =>
  [
    ['energy', 'Energy.Active.Import.Register'],
    ['power', 'Power.Active.Import'],
    ['voltage', 'Voltage'],
    ['current', 'Current.Import'],
    ['soc', 'SoC'],
  ].map(([key, m]) => ({ messageTypeFilter: filter, key, value: byMeasurand(m as string) }));

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'sim/v16-CP\\d+',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      timeseries: series('MeterValues'),
    },
    {
      idRegexpPattern: 'sim/v2(01|1)-CP\\d+',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      timeseries: series('TransactionEvent'),
      attributes: [
        {
          messageTypeFilter: 'TransactionEvent',
          key: 'transactionId',
          value: '${transaction_info.transaction_id}',
        },
      ],
    },
  ],
};

const VERSIONS = [
  { ocpp: '1.6', prefix: 'sim/v16-CP' },
  { ocpp: '2.0.1', prefix: 'sim/v201-CP' },
  { ocpp: '2.1', prefix: 'sim/v21-CP' },
];
const DURATION_S = 9;

function simulate(url: string, ocpp: string): Promise<SimulatorRun> {
  const stations = ['--url', url, '--count', '2', '--ocpp', ocpp, '--duration', String(DURATION_S)];
  const pace = ['--connectors', '2', '--idle', '0.5-1.5', '--session', '2-3', '--meter-interval', '1'];
  return runSimulator([...stations, ...pace]);
}

describe('simulate', () => {
  let h: Harness;
  const runs = new Map<string, SimulatorRun>();
  const replies = new Map<string, unknown>();
  let rpcId = 1;

  async function rpc(device: string, method: string, params: unknown): Promise<unknown> {
    const data = await h.tb.rpc(device, rpcId++, method, params, 8000);
    replies.set(`${device} ${method}`, data);
    return data;
  }

  async function connected(device: string): Promise<void> {
    await h.tb.waitFor(
      () => h.tb.fromGateway('v1/gateway/connect').some((m) => m.device === device),
      8000,
      `${device} connected`,
    );
  }

  beforeAll(async () => {
    h = await Harness.start({ connectors: [{ name: 'Sim', ocpp: OCPP }] });
    const ws = h.urls.Sim ?? '';
    const running = VERSIONS.map(async (v) => runs.set(v.ocpp, await simulate(`${ws}/${v.prefix}`, v.ocpp)));
    const commands = [
      (async () => {
        const device = 'sim/v16-CP1';
        await connected(device);
        await rpc(device, 'GetConfiguration', { key: ['MeterValueSampleInterval', 'NoSuchKey'] });
        await rpc(device, 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '120' });
        await rpc(device, 'get', { key: 'HeartbeatInterval' });
        await rpc(device, 'TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 });
        await rpc(device, 'DataTransfer', { vendorId: 'ThingsBoard', data: 'ping' });
        await rpc(device, 'RemoteStartTransaction', { idTag: 'REMOTE-16', connectorId: 2 });
        await rpc('sim/v16-CP2', 'Reset', { type: 'Soft' });
      })(),
      ...['sim/v201-CP1', 'sim/v21-CP1'].map(async (device) => {
        await connected(device);
        await rpc(device, 'GetVariables', {
          getVariableData: [
            { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
            { component: { name: 'NoSuchCtrlr' }, variable: { name: 'X' } },
          ],
        });
        await rpc(device, 'set', { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval', value: '90' });
        await rpc(device, 'TriggerMessage', { requestedMessage: 'Heartbeat' });
        await rpc(device, 'DataTransfer', { vendorId: 'ThingsBoard', data: { a: 1 } });
        await rpc(device, 'RequestStartTransaction', {
          idToken: { idToken: 'REMOTE-2X', type: 'Central' },
          remoteStartId: 7,
        });
        const tx = await h.tb.waitFor(
          () =>
            h.tb
              .fromGateway('v1/gateway/attributes')
              .map((m) => (m[device] as { transactionId?: string } | undefined)?.transactionId)
              .findLast((t) => t !== undefined),
          8000,
          `a transaction of ${device}`,
        );
        await rpc(device, 'RequestStopTransaction', { transactionId: tx });
      }),
    ];
    await Promise.all([...running, ...commands]);
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it.each(VERSIONS)('OCPP $ocpp: every station connects and boots, and the run ends cleanly', ({ ocpp }) => {
    const run = runs.get(ocpp);
    expect(run?.code).toBe(0);
    const summary = run?.logs.find((l) => l.msg === 'simulation finished');
    expect(summary).toMatchObject({ stations: 2, connected: 2, refused: 0 });
    expect((summary?.counters as { sessionsStarted: number }).sessionsStarted).toBeGreaterThan(0);
    expect(run?.logs.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it.each(VERSIONS)('OCPP $ocpp: meter values reach ThingsBoard with plausible readings', ({ prefix }) => {
    type Reading = { energy: number; power: number; soc: number; voltage: number; current: number };
    const points = new Map<string, Reading[]>();
    for (const m of h.tb.fromGateway('v1/gateway/telemetry')) {
      for (const [device, entries] of Object.entries(m)) {
        if (!device.startsWith(prefix)) continue;
        for (const e of entries as { values: Reading }[]) {
          points.set(device, [...(points.get(device) ?? []), e.values]);
        }
      }
    }
    expect(points.size).toBeGreaterThan(0);
    for (const values of points.values()) {
      for (const v of values) {
        expect(Number(v.voltage)).toBeGreaterThan(200);
        expect(Number(v.soc)).toBeLessThanOrEqual(100);
        expect(Number(v.power)).toBeGreaterThanOrEqual(0);
        expect(Number(v.energy)).toBeGreaterThan(0);
        // Current per phase follows power and voltage, on one phase or three.
        const current = Number(v.current);
        const perPhase = Number(v.power) / Number(v.voltage);
        expect(
          [1, 3].some((phases) => Math.abs(current * phases - perPhase) <= 0.05 * perPhase + 0.2),
          JSON.stringify(v),
        ).toBe(true);
      }
    }
  });

  it('answers OCPP 1.6 commands from ThingsBoard', () => {
    const d = 'sim/v16-CP1';
    expect(replies.get(`${d} GetConfiguration`)).toEqual({
      result: {
        configurationKey: [{ key: 'MeterValueSampleInterval', readonly: false, value: '1' }],
        unknownKey: ['NoSuchKey'],
      },
    });
    expect(replies.get(`${d} ChangeConfiguration`)).toEqual({ result: { status: 'Accepted' } });
    expect(replies.get(`${d} get`)).toEqual({
      result: { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '120' }] },
    });
    expect(replies.get(`${d} TriggerMessage`)).toEqual({ result: { status: 'Accepted' } });
    expect(replies.get(`${d} DataTransfer`)).toEqual({ result: { status: 'Accepted', data: 'ping' } });
    // Accepted when connector 2 is free, Rejected while a local session holds it.
    expect(replies.get(`${d} RemoteStartTransaction`)).toEqual({
      result: { status: expect.stringMatching(/^(Accepted|Rejected)$/) },
    });
    expect(replies.get('sim/v16-CP2 Reset')).toEqual({ result: { status: 'Accepted' } });
    // The reset station reconnected and booted again.
    const boots = h.gateway.logs.filter(
      (l) => l.msg === 'charge point connected' && l.chargePointId === 'sim/v16-CP2',
    );
    expect(boots.length).toBeGreaterThanOrEqual(2);
  });

  it.each(['sim/v201-CP1', 'sim/v21-CP1'])('answers OCPP 2.x commands from ThingsBoard (%s)', (d) => {
    expect(replies.get(`${d} GetVariables`)).toEqual({
      result: {
        getVariableResult: [
          {
            attributeStatus: 'Accepted',
            attributeValue: expect.stringMatching(/^\d+$/),
            component: { name: 'OCPPCommCtrlr' },
            variable: { name: 'HeartbeatInterval' },
          },
          {
            attributeStatus: 'UnknownComponent',
            component: { name: 'NoSuchCtrlr' },
            variable: { name: 'X' },
          },
        ],
      },
    });
    expect(replies.get(`${d} set`)).toEqual({
      result: {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'OCPPCommCtrlr' },
            variable: { name: 'HeartbeatInterval' },
          },
        ],
      },
    });
    expect(replies.get(`${d} TriggerMessage`)).toEqual({ result: { status: 'Accepted' } });
    expect(replies.get(`${d} DataTransfer`)).toEqual({ result: { status: 'Accepted', data: { a: 1 } } });
    expect(replies.get(`${d} RequestStartTransaction`)).toEqual({
      result: { status: expect.stringMatching(/^(Accepted|Rejected)$/) },
    });
    expect(replies.get(`${d} RequestStopTransaction`)).toEqual({ result: { status: 'Accepted' } });
  });

  it('the gateway logged every frame at debug, with id, version and direction, idTags masked', () => {
    const frames = h.gateway.logs.filter((l) => l.msg === 'OCPP frame');
    for (const v of ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']) {
      expect(frames.some((l) => l.ocppVersion === v && l.direction === 'in' && l.level === 20)).toBe(true);
      expect(frames.some((l) => l.ocppVersion === v && l.direction === 'out')).toBe(true);
    }
    const authorize = frames.filter((l) => l.action === 'Authorize' && l.direction === 'in');
    expect(authorize.length).toBeGreaterThan(0);
    // A simulated card is 16 hex digits: 12 masked, the last 4 shown (the product's one mask).
    for (const l of authorize) expect(String(l.frame)).toMatch(/"(idTag|idToken)":"\*{12}[0-9A-F]{4}"/);
    expect(h.gateway.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

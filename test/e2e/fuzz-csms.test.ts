/**
 * Property-based fuzzing of the Central System features (authorization in list mode, registration,
 * sessions with a tariff, DataTransfer vendors, typed values) through the built CLI with real
 * sockets: schema-shaped CALLs whose values are hostile (idTokens named like Object.prototype
 * members, 1e309 meter registers, odd timestamps, deep text), and hostile ThingsBoard input to
 * the features (the gateway device's `ocppIdTokens`, a device's `ocppRegistration` and
 * `ocppTariff`, `syncLocalList`, remote starts, TriggerMessage). After every case the process must
 * be alive and answer a Heartbeat, every RPC must get its reply, no feature may have failed, and
 * nothing published may carry a number JSON cannot hold (it would read `null`).
 *
 * Bounded for `npm test` (FUZZ_RUNS cases per property, default 300); `npm run fuzz` runs it longer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, RawChargePoint } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';
import { ThingsBoardGatewayDevice } from '../helpers/thingsboard-device.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const TIMEOUT_MS = 60_000 + RUNS * 80;
const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
const PROBES = ['fz/cp16', 'fz/cp201', 'fz/pending'] as const;

/** A number written as raw JSON text (1e309 cannot be produced by JSON.stringify). */
const RAW = '\u0000raw:';
const raw = (text: string): string => `${RAW}${text}`;
/** JSON text of `value`, with every raw(…) string replaced by its text. */
function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000raw:([^"]*)"/g, '$1');
}

const callOf =
  (action: string) =>
  (payload: unknown): [string, unknown] => [action, payload];

const hostileNumber = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }).map(String),
  fc.constant('1e309'),
  fc.constantFrom('-1e309', '1e-400', '123456789012345678901234567890', '0.5', '-0'),
);
const token = fc.oneof(
  fc.constantFrom(...HOSTILE_NAMES, 'VALID01', 'BLOCKED01', 'GROUPED01', 'A'.repeat(255)),
  fc.string({ minLength: 1, maxLength: 20 }),
);
// Mostly schema-valid: a payload the schema refuses never reaches the features.
const timestamp = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
  { weight: 1, arbitrary: fc.constantFrom('2016-12-31T23:59:60Z', '9999-12-31T23:59:59Z', 'not a time') },
);
const oddText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(...HOSTILE_NAMES),
  fc.integer({ min: 60, max: 5000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.constantFrom('{"max":1e309}', '{"__proto__":{"status":"Accepted"}}', '1e309'),
);
const measurand = fc.constantFrom('Energy.Active.Import.Register', 'Power.Active.Import', 'Voltage');
const phase = fc.constantFrom('L1', 'L2', 'L3', 'L1-N');

const sample16 = fc.record(
  {
    value: fc.oneof(hostileNumber, fc.string({ maxLength: 10 })),
    measurand,
    unit: fc.constantFrom('Wh', 'kWh', 'W', 'kW'),
    phase,
  },
  { requiredKeys: ['value'] },
);
const sample2 = fc.record({
  value: hostileNumber.map(raw),
  measurand,
  unitOfMeasure: fc.record({
    unit: fc.constantFrom('Wh', 'kWh', 'W', 'kW'),
    multiplier: fc.integer({ min: -3, max: 3 }),
  }),
});
const meterValue16 = fc.array(
  fc.record({ timestamp, sampledValue: fc.array(sample16, { minLength: 1, maxLength: 4 }) }),
  {
    minLength: 1,
    maxLength: 3,
  },
);
const meterValue2 = fc.array(
  fc.record({ timestamp, sampledValue: fc.array(sample2, { minLength: 1, maxLength: 4 }) }),
  {
    minLength: 1,
    maxLength: 3,
  },
);
const connectorId = fc.integer({ min: 0, max: 3 });
/** Mostly the transaction the gateway last gave the probe (@TX, filled in when sent). */
const transactionId16 = fc.oneof(
  { weight: 3, arbitrary: fc.constant(raw('@TX')) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2 ** 31 - 1) },
);
const transactionId2 = fc.oneof(
  fc.constantFrom('tx-1', 'tx-2', ...HOSTILE_NAMES),
  fc.string({ minLength: 1, maxLength: 36 }),
);

const idTag16 = token.map((t) => t.slice(0, 20));
const call16: fc.Arbitrary<[string, unknown]> = fc.oneof(
  idTag16.map((idTag) => callOf('Authorize')({ idTag })),
  // Transactions twice as often: a session's record is where meter registers end up.
  ...[1, 2].map(() =>
    fc
      .record({ connectorId, idTag: idTag16, meterStart: hostileNumber.map(raw), timestamp })
      .map(callOf('StartTransaction')),
  ),
  ...[1, 2].map(() =>
    fc
      .record({
        transactionId: transactionId16,
        meterStop: hostileNumber.map(raw),
        timestamp,
        idTag: idTag16,
        transactionData: meterValue16,
      })
      .map(callOf('StopTransaction')),
  ),
  fc
    .record({ connectorId, transactionId: transactionId16, meterValue: meterValue16 })
    .map(callOf('MeterValues')),
  fc
    .record({
      connectorId,
      errorCode: fc.constant('NoError'),
      status: fc.constantFrom('Available', 'Charging', 'SuspendedEV', 'Finishing'),
      timestamp,
    })
    .map(callOf('StatusNotification')),
  fc
    .record({
      vendorId: fc.constantFrom('acme', 'bolt', ...HOSTILE_NAMES),
      messageId: fc.constantFrom('price', ...HOSTILE_NAMES),
      data: fc
        .record({ k: fc.constantFrom(...HOSTILE_NAMES, 'level'), raw: oddText })
        .map((d) => JSON.stringify(d)),
    })
    .map(callOf('DataTransfer')),
  fc.constant(callOf('BootNotification')(aBootNotification())),
);

const idToken2 = fc.record({
  idToken: token.map((t) => t.slice(0, 36)),
  type: fc.constantFrom('ISO14443', 'Central', 'NoAuthorization', 'eMAID'),
});
const call201: fc.Arbitrary<[string, unknown]> = fc.oneof(
  idToken2.map((idToken) => callOf('Authorize')({ idToken })),
  fc
    .record(
      {
        eventType: fc.constantFrom('Started', 'Updated', 'Ended'),
        timestamp,
        triggerReason: fc.constant('MeterValuePeriodic'),
        seqNo: fc.integer({ min: 0, max: 100 }),
        transactionInfo: fc.record(
          {
            transactionId: transactionId2,
            chargingState: fc.constantFrom('Charging', 'SuspendedEV', 'Idle'),
            stoppedReason: fc.constantFrom('Local', 'EVDisconnected'),
          },
          { requiredKeys: ['transactionId'] },
        ),
        evse: fc.record({ id: fc.integer({ min: 1, max: 3 }), connectorId: fc.integer({ min: 1, max: 2 }) }),
        idToken: idToken2,
        meterValue: meterValue2,
      },
      { requiredKeys: ['eventType', 'timestamp', 'triggerReason', 'seqNo', 'transactionInfo'] },
    )
    .map(callOf('TransactionEvent')),
  fc
    .record({
      timestamp,
      connectorStatus: fc.constantFrom('Available', 'Occupied'),
      evseId: fc.integer({ min: 0, max: 3 }),
      connectorId: fc.integer({ min: 1, max: 2 }),
    })
    .map(callOf('StatusNotification')),
  fc.constant(callOf('BootNotification')(aBootNotification2())),
);

/** What ThingsBoard sends the features: gateway device attributes, device attributes, RPCs. */
const anyValue = fc.oneof(
  oddText.map((t) => ({ text: t })),
  oddText.map((t) => ({ json: t })),
  fc.constant({
    json: '{"CARD9":{"status":"Blocked"},"__proto__":{"status":"Accepted"},"toString":{"status":"Maybe"}}',
  }),
  fc.constant({ json: '{"currency":"EUR","pricePerKWh":1e309}' }),
  fc.constant({ json: '"Accepted"' }),
);
const valueText = (v: { text: string } | { json: string }): string =>
  'text' in v ? JSON.stringify(v.text) : isJson(v.json) ? v.json : JSON.stringify(v.json);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const downlinkCase = fc.oneof(
  anyValue.map((v) => ({
    topic: 'v1/devices/me/attributes',
    text: `{"ocppIdTokens":${valueText(v)}}`,
    rpc: undefined,
  })),
  fc.constant({
    topic: 'v1/devices/me/attributes',
    text: '{"deleted":["ocppIdTokens","__proto__"]}',
    rpc: undefined,
  }),
  fc
    .record({
      device: fc.constantFrom(...PROBES, ...HOSTILE_NAMES),
      key: fc.constantFrom('ocppRegistration', 'ocppTariff', 'deleted', ...HOSTILE_NAMES),
      value: anyValue,
    })
    .map(({ device, key, value }) => ({
      topic: 'v1/gateway/attributes',
      text: `{"device":${JSON.stringify(device)},"data":{${JSON.stringify(key)}:${valueText(value)}}}`,
      rpc: undefined,
    })),
  fc
    .record({
      device: fc.constantFrom(...PROBES, ...HOSTILE_NAMES),
      method: fc.constantFrom(
        'syncLocalList',
        'RemoteStartTransaction',
        'RequestStartTransaction',
        'TriggerMessage',
        'CostUpdated',
        'GetTariffs',
        ...HOSTILE_NAMES,
      ),
      params: fc.oneof(
        token.map((t) => jsonText({ idTag: t.slice(0, 20), connectorId: 1 })),
        idToken2.map((t) => jsonText({ idToken: t, remoteStartId: 1 })),
        fc
          .constantFrom(...HOSTILE_NAMES, 'BootNotification', 'StatusNotification')
          .map((m) => jsonText({ requestedMessage: m })),
        fc.constant('{"force":true}'),
        oddText.map((t) => (isJson(t) ? t : JSON.stringify(t))),
      ),
      id: fc.integer({ min: 1, max: 2 ** 31 }),
    })
    .map(({ device, method, params, id }) => ({
      topic: 'v1/gateway/rpc',
      text: `{"device":${JSON.stringify(device)},"data":{"id":${id},"method":${JSON.stringify(method)},"params":${params}}}`,
      rpc: { device, id },
    })),
);

/** The values the features publish (session, evse_…, authorization), from any device's entries. */
function featureValues(message: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  for (const entries of Object.values(message)) {
    for (const e of Array.isArray(entries) ? entries : [entries]) {
      const values = (e as { values?: unknown }).values ?? e;
      if (typeof values !== 'object' || values === null) continue;
      for (const [k, v] of Object.entries(values)) {
        if (/^(session|evse_|authorization)/.test(k)) out.push(v);
      }
    }
  }
  return out;
}

describe(`fuzz the Central System features: ${RUNS} cases per property`, () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let device: ThingsBoardGatewayDevice;
  const probes: Partial<Record<(typeof PROBES)[number], RawChargePoint>> = {};
  let checks = 0;
  const lastTransaction = new Map<string, number>();

  async function alive(): Promise<void> {
    if (gateway.logs.some((l) => l.level >= 60)) throw new Error('the gateway logged a fatal error');
    const failed = gateway.logs.find((l) => l.msg.startsWith('a Central System feature failed'));
    if (failed) throw new Error(`a feature failed: ${JSON.stringify(failed)}`);
    const cp16 = await probe('fz/cp16', 'ocpp1.6');
    const id = `alive-${++checks}`;
    cp16.send(JSON.stringify([2, id, 'Heartbeat', {}]));
    const answer = await cp16.answerTo(id, 15_000);
    if (answer[0] !== 3) throw new Error(`Heartbeat answered ${JSON.stringify(answer)}`);
    // What the features publish never holds a null: it is what a number JSON cannot hold becomes.
    for (const topic of ['v1/gateway/telemetry', 'v1/gateway/attributes']) {
      for (const m of tb.fromGateway(topic)) {
        const text = JSON.stringify(featureValues(m));
        if (text.includes('null')) throw new Error(`published a null: ${text.slice(0, 300)}`);
      }
    }
    for (const p of Object.values(probes)) p.frames.length = 0;
    tb.messages.length = 0;
  }

  async function probe(id: (typeof PROBES)[number], version: string): Promise<RawChargePoint> {
    const open = probes[id];
    if (open && !open.closed) return open;
    const cp = await RawChargePoint.open(`${h.urls.csms!}/${id}`, [version]);
    probes[id] = cp;
    // Every CALL the gateway sends is answered, now and then with something odd.
    cp.ws.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (!Array.isArray(frame) || frame[0] !== 2) return;
      const action = String(frame[2]);
      const answer =
        action === 'GetLocalListVersion'
          ? version === 'ocpp1.6'
            ? '{"listVersion":1e309}'
            : '{"versionNumber":3}'
          : String(frame[1]).length % 3 === 0
            ? '[' + '['.repeat(100) + ']'.repeat(100) + ']'
            : '{"status":"Accepted"}';
      cp.send(`[3,${JSON.stringify(frame[1])},${answer}]`);
    });
    const boot = version === 'ocpp1.6' ? aBootNotification() : aBootNotification2();
    cp.send(JSON.stringify([2, 'boot', 'BootNotification', boot]));
    await cp.answerTo('boot', 15_000);
    return cp;
  }

  beforeAll(async () => {
    const entry = {
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'fz',
      sessions: true,
      tariff: { currency: 'EUR', pricePerKWh: 0.4, pricePerMinute: 0.01, costUpdatedInterval: 1 },
      dataTransferVendors: [{ vendorId: 'bolt', messageIds: ['price'] }],
      timeseries: [
        {
          messageTypeFilter: 'MeterValues',
          key: 'energy',
          type: 'double',
          value: '${meter_value[0].sampled_value[0].value}',
        },
        { messageTypeFilter: 'DataTransfer', key: '${data.k}', type: 'json', value: '${data.raw}' },
      ],
    };
    h = await Harness.start({
      beforeGateway: async (port) => {
        // Answers the gateway's attribute requests (registration at a boot, a tariff per connection).
        device = await ThingsBoardGatewayDevice.connect(port);
        device.setDeviceShared('fz/cp201', { ocppTariff: '{"currency":"EUR","pricePerKWh":1e309}' });
        device.setGatewayShared({ ocppIdTokens: { CARD9: { status: 'Accepted' } } });
      },
      connectors: [
        {
          name: 'csms',
          ocpp: {
            centralSystem: { port: 0, announceUnbootedAfter: 0 },
            authorization: {
              mode: 'list',
              idTokens: JSON.parse(
                '{"VALID01":{"status":"Accepted"},"BLOCKED01":{"status":"Blocked"},' +
                  '"GROUPED01":{"status":"Accepted","groupId":"__proto__"},"__proto__":{"status":"Blocked"},' +
                  '"constructor":{"status":"Accepted","expiryDate":"2020-01-01T00:00:00Z"}}',
              ) as unknown,
            },
            chargePoints: [
              { idRegexpPattern: 'fz/pending', registration: 'Pending', ...entry },
              { idRegexpPattern: 'fz/.*', ...entry },
            ],
          },
        },
      ],
    });
    ({ tb, gateway } = h);
    await probe('fz/cp16', 'ocpp1.6');
    await probe('fz/cp201', 'ocpp2.0.1');
    await probe('fz/pending', 'ocpp1.6');
    tb.messages.length = 0;
  }, 60_000);

  afterAll(async () => {
    for (const p of Object.values(probes)) await p?.shut();
    await h?.stop();
    await device?.close();
  });

  const params = {
    numRuns: RUNS,
    ...(SEED === undefined ? {} : { seed: SEED }),
    interruptAfterTimeLimit: TIMEOUT_MS - 10_000,
  };

  it(
    'hostile values in the CALLs the features take part in, 1.6 and 2.0.1, registered or pending',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            call16.map((c) => ['fz/cp16', c] as const),
            call16.map((c) => ['fz/pending', c] as const),
            call201.map((c) => ['fz/cp201', c] as const),
          ),
          async ([id, [action, payload]]) => {
            const cp = await probe(id, id === 'fz/cp201' ? 'ocpp2.0.1' : 'ocpp1.6');
            const text = jsonText(payload).replaceAll('@TX', String(lastTransaction.get(id) ?? 1));
            cp.send(`[2,"fz",${JSON.stringify(action)},${text}]`);
            const answer = await cp.answerTo('fz', 15_000);
            expect([3, 4]).toContain(answer[0]);
            const given = (answer[2] as { transactionId?: unknown } | undefined)?.transactionId;
            if (answer[0] === 3 && typeof given === 'number') lastTransaction.set(id, given);
            await alive();
          },
        ),
        params,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile ThingsBoard input to the features; every RPC gets its reply',
    async () => {
      await fc.assert(
        fc.asyncProperty(downlinkCase, async (c) => {
          await tb.publishRaw(c.topic, c.text);
          if (c.rpc) {
            const { device, id } = c.rpc;
            await tb.waitFor(() => tb.rpcReplies(device, id)[0], 15_000, `reply to RPC ${id}`);
          }
          await alive();
        }),
        params,
      );
    },
    TIMEOUT_MS,
  );
});

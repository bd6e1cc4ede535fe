/**
 * Property-based fuzzing of the gateway's two untrusted edges (fast-check), through the built CLI
 * with real sockets: malformed OCPP-J frames for every version, hostile handshakes (ids, headers,
 * subprotocols, credentials), and hostile ThingsBoard messages (attribute updates, RPCs, deep and
 * odd JSON). After every case the process must be alive and answer a Heartbeat on another socket,
 * and every well-formed RPC must get exactly its reply.
 *
 * Bounded for `npm test` (FUZZ_RUNS cases per property, default 300). `npm run fuzz` runs the same
 * generators longer: FUZZ_RUNS=100000 by default, FUZZ_SEED to replay a failure.
 */
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, RawChargePoint } from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Long runs need long tests: a case takes 20–45 ms. */
const TIMEOUT_MS = 60_000 + RUNS * 60;
const VERSIONS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const;
const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
const ACTIONS = [
  'BootNotification',
  'Heartbeat',
  'MeterValues',
  'DataTransfer',
  'TransactionEvent',
  'Authorize',
  'StatusNotification',
  'NotifyReport',
  'Reset',
  'NotifyPeriodicEventStream',
];

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const nested = (depth: number, open: string, close: string, inner: string): string =>
  open.repeat(depth) + inner + close.repeat(depth);

/** Odd JSON text: deep, huge numbers, hostile keys, odd unicode, or plain garbage. */
const oddJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.json({ depthSize: 'medium' }),
  fc.integer({ min: 60, max: 20_000 }).map((d) => nested(d, '[', ']', '')),
  fc.integer({ min: 60, max: 20_000 }).map((d) => nested(d, '{"a":', '}', '1')),
  fc.constantFrom(
    '1e309',
    '-1e400',
    '1e-400',
    '123456789012345678901234567890',
    '"\\ud800"',
    '"\u0000"',
    'null',
    '[]',
    '{}',
  ),
  fc.constantFrom(...HOSTILE_NAMES).map((k) => `{"${k}":{"${k}":1}}`),
  fc.string({ maxLength: 200 }),
);

/** A frame text for one version: mostly OCPP-J shaped with hostile parts, sometimes anything. */
const frameText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(2, 3, 4, 5, 6, 7, -1, 2.5),
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom(...HOSTILE_NAMES),
          fc.constant('x'.repeat(100)),
        ),
        fc.oneof(fc.constantFrom(...ACTIONS, ...HOSTILE_NAMES), fc.string({ maxLength: 30 })),
        oddJsonText,
      )
      .map(([t, id, action, payload]) => `[${t},${JSON.stringify(id)},${JSON.stringify(action)},${payload}]`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(3, 4, 5), fc.string({ maxLength: 10 }), oddJsonText)
      .map(([t, id, p]) => `[${t},${JSON.stringify(id)},${p},${p},${p}]`),
  },
  { weight: 1, arbitrary: oddJsonText },
  { weight: 1, arbitrary: fc.json({ depthSize: 'small' }) },
);

const handshakeCase = fc.record({
  path: fc.oneof(
    fc.constantFrom(...HOSTILE_NAMES),
    fc.string({ maxLength: 60 }),
    fc.constantFrom('%ZZ', '%00', '..%2F..', 'fz/' + 'a'.repeat(300), '', '//', 'fz/%F0%9F%98%80'),
  ),
  protocols: fc.oneof(
    fc.constant(undefined),
    fc
      .array(fc.oneof(fc.constantFrom(...VERSIONS, 'ocpp1.5', '', ' , ,'), fc.string({ maxLength: 12 })), {
        maxLength: 4,
      })
      .map((p) => p.join(', ')),
  ),
  authorization: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'Bearer FUZZ_TOKEN',
      'bearer FUZZ_TOKEN',
      'Basic',
      'Basic !!!',
      'Basic ' + Buffer.from('__proto__:x').toString('base64'),
      'Negotiate x',
    ),
    fc.string({ maxLength: 60 }),
    fc.array(fc.constantFrom('Bearer FUZZ_TOKEN', 'Basic Zm9vOmJhcg=='), { minLength: 2, maxLength: 3 }),
  ),
});

const downlinkCase = fc.oneof(
  fc
    .record({
      topic: fc.constant('v1/gateway/attributes'),
      device: fc.oneof(
        fc.constant('fz/probe'),
        fc.constantFrom(...HOSTILE_NAMES),
        fc.string({ maxLength: 20 }),
      ),
      body: oddJsonText,
    })
    .map(({ topic, device, body }) => ({
      topic,
      text: `{"device":${JSON.stringify(device)},"data":{"config":${body}}}`,
      rpc: undefined,
    })),
  fc
    .record({
      device: fc.oneof(
        fc.constant('fz/probe'),
        fc.constantFrom(...HOSTILE_NAMES),
        fc.string({ maxLength: 20 }),
      ),
      method: fc.oneof(
        fc.constantFrom('echo', 'Reset', 'get', 'set', 'GetConfiguration', ...HOSTILE_NAMES),
        fc.string({ maxLength: 20 }),
      ),
      params: oddJsonText,
      id: fc.integer({ min: 1, max: 2 ** 31 }),
    })
    .map(({ device, method, params, id }) => ({
      topic: 'v1/gateway/rpc',
      text: `{"device":${JSON.stringify(device)},"data":{"id":${id},"method":${JSON.stringify(method)},"params":${params}}}`,
      // A reply is owed only to a request that is JSON at all (params may be any odd text).
      rpc: isJson(params) ? { device, id } : undefined,
    })),
  fc
    .record({ topic: fc.constantFrom('v1/gateway/rpc', 'v1/gateway/attributes'), text: oddJsonText })
    .map((c) => ({ ...c, rpc: undefined })),
);

/** Raw WebSocket handshake with any header value (arrays give several header lines). */
function handshake(
  base: string,
  c: { path: string; protocols: string | undefined; authorization: string | string[] | undefined },
): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string | string[]> = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    };
    if (c.protocols !== undefined) headers['Sec-WebSocket-Protocol'] = c.protocols;
    if (c.authorization !== undefined) headers.Authorization = c.authorization;
    let req;
    try {
      req = httpRequest(`${base.replace(/^ws/, 'http')}/${c.path}`, { headers });
    } catch {
      return resolve(-1); // a header value Node itself refuses to send
    }
    const timer = setTimeout(() => {
      req.destroy();
      resolve(0);
    }, 5000);
    const done = (status: number): void => {
      clearTimeout(timer);
      resolve(status);
    };
    req.once('error', () => done(-2));
    req.once('response', (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      done(res.statusCode ?? 0);
    });
    req.end();
  });
}

describe(`fuzz: ${RUNS} cases per property`, () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  let probe: RawChargePoint;
  const sockets: Partial<Record<(typeof VERSIONS)[number], RawChargePoint>> = {};
  let checks = 0;
  const started = Date.now();
  const counts = { frames: 0, handshakes: 0, downlinks: 0 };

  async function alive(): Promise<void> {
    if (gateway.logs.some((l) => l.level >= 60)) throw new Error('the gateway logged a fatal error');
    const id = `alive-${++checks}`;
    probe.send(JSON.stringify([2, id, 'Heartbeat', {}]));
    const answer = await probe.answerTo(id, 10_000);
    if (answer[0] !== 3) throw new Error(`Heartbeat answered ${JSON.stringify(answer)}`);
    probe.frames.length = 0;
  }

  async function socketFor(version: (typeof VERSIONS)[number]): Promise<RawChargePoint> {
    const open = sockets[version];
    if (open && !open.closed) return open;
    const cp = await RawChargePoint.open(`${base}/fz/frames-${version}`, [version], {
      authorization: 'Bearer FUZZ_TOKEN',
    });
    sockets[version] = cp;
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        {
          name: 'fuzz',
          ocpp: {
            centralSystem: {
              port: 0,
              security: [
                { type: 'token', tokens: ['Bearer FUZZ_TOKEN'] },
                {
                  type: 'basic',
                  usernameIsChargePointId: true,
                  passwords: { probe: 'probe-pw', ['__proto__']: 'x' },
                },
              ],
            },
            chargePoints: [
              {
                idRegexpPattern: '.*',
                deviceNameExpression: '${ChargePointId}',
                attributes: [
                  { messageTypeFilter: 'DataTransfer,BootNotification', key: '${data.k}', value: '${data}' },
                ],
                timeseries: [
                  {
                    messageTypeFilter: 'MeterValues,TransactionEvent',
                    key: '${meter_value[0].sampled_value[0].measurand}',
                    value: '${meter_value[0].sampled_value[0].value}',
                  },
                ],
                attributeUpdates: [
                  {
                    attributeOnThingsBoard: 'config',
                    valueExpression: '{"${attributeKey}":"${attributeValue}"}',
                  },
                ],
                serverSideRpc: [{ methodRPC: 'echo', valueExpression: '${params}', timeout: 1 }],
              },
            ],
          },
        },
      ],
    });
    ({ tb, gateway } = h);
    base = h.urls.fuzz!;
    probe = await RawChargePoint.open(`${base}/fz/probe`, ['ocpp1.6'], {
      authorization: 'Bearer FUZZ_TOKEN',
    });
    probe.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification()]));
    await probe.answerTo('boot');
    probe.frames.length = 0;
    // The probe answers every CALL the gateway sends it, with odd payloads too.
    probe.ws.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (Array.isArray(frame) && frame[0] === 2) {
        const payload =
          String(frame[3]).length % 2 === 0 ? '{"status":"Accepted"}' : nested(200, '[', ']', '');
        probe.send(`[3,${JSON.stringify(frame[1])},${payload}]`);
      }
    });
  }, 60_000);

  afterAll(async () => {
    for (const cp of Object.values(sockets)) await cp?.shut();
    await probe?.shut();
    await h?.stop();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    // One line a long run can be reported with (npm run fuzz).
    console.log(
      `fuzz: ${counts.frames} frames, ${counts.handshakes} handshakes, ${counts.downlinks} ThingsBoard messages, ${checks} liveness checks, 0 crashes, ${seconds} s`,
    );
  });

  const params = {
    numRuns: RUNS,
    ...(SEED === undefined ? {} : { seed: SEED }),
    interruptAfterTimeLimit: TIMEOUT_MS - 10_000,
  };

  it(
    'malformed OCPP-J frames for every version',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...VERSIONS),
          frameText,
          fc.boolean(),
          async (version, text, binary) => {
            counts.frames++;
            const cp = await socketFor(version);
            cp.ws.send(binary ? Buffer.from(text) : text);
            await alive();
          },
        ),
        params,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile handshakes: ids, headers, subprotocols, credentials',
    async () => {
      await fc.assert(
        fc.asyncProperty(handshakeCase, async (c) => {
          counts.handshakes++;
          const status = await handshake(base, c);
          expect(status).not.toBe(0); // answered, never left hanging
          expect(status).not.toBe(500);
          await alive();
        }),
        params,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile ThingsBoard messages: attribute updates, RPCs, deep and odd JSON; every RPC gets its reply',
    async () => {
      await fc.assert(
        fc.asyncProperty(downlinkCase, async (c) => {
          counts.downlinks++;
          await tb.publishRaw(c.topic, c.text);
          if (c.rpc) {
            const { device, id } = c.rpc;
            await tb.waitFor(() => tb.rpcReplies(device, id)[0], 10_000, `reply to RPC ${id}`);
          }
          await alive();
          tb.messages.length = 0;
        }),
        params,
      );
    },
    TIMEOUT_MS,
  );
});

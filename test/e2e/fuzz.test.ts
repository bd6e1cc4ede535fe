/**
 * Property-based fuzzing of the gateway's untrusted edges (fast-check), through the built CLI
 * with real sockets: malformed OCPP-J frames for every version, hostile handshakes (ids, headers,
 * subprotocols, credentials), hostile ThingsBoard messages (attribute updates, RPCs, deep and
 * odd JSON), and hostile HTTP requests to the status server (page, JSON API, /api/trace, event
 * stream, log uploads — a stranger's input too when it listens on 0.0.0.0). After every case the
 * process must be alive and answer a Heartbeat on another socket, every well-formed RPC must get
 * exactly its reply, and the status server must still answer.
 *
 * Bounded for `npm test` (FUZZ_RUNS cases per property, default 300). `npm run fuzz` runs the same
 * generators longer: FUZZ_RUNS=100000 by default, FUZZ_SEED to replay a failure.
 */
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
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

const STATUS_AUTH = { username: 'ops', password: 'fuzz-Status-pw1' };
const STATUS_CREDENTIALS =
  'Basic ' + Buffer.from(`${STATUS_AUTH.username}:${STATUS_AUTH.password}`).toString('base64');

/** A path segment: hostile names, odd encodings, long or plain text. */
const segment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...HOSTILE_NAMES),
  fc.constantFrom('%ZZ', '%00', '..', '..%2F..%2Fetc%2Fpasswd', '.hidden', '%F0%9F%98%80', 'fz%2Fprobe', ''),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.integer({ min: 200, max: 3000 }).map((n) => 'a'.repeat(n)),
);

/** What the status server is asked: any method, any path it serves (and others), odd headers and bodies. */
const statusCase = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('GET', 'GET', 'GET', 'HEAD') },
    { weight: 2, arbitrary: fc.constantFrom('POST', 'PUT') },
    { weight: 1, arbitrary: fc.constantFrom('DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND') },
    // Mostly refused by Node's HTTP parser (400) before the gateway sees them.
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
  ),
  path: fc.oneof(
    fc.constantFrom(
      '/',
      '/api/status',
      '/api/chargepoints',
      '/api/trace',
      '/api/events',
      '/metrics',
      '/healthz',
      '/readyz',
      '/static/app.js',
      '/static/style.css',
      '//evil.example/',
      '/uploads/',
    ),
    segment.map((x) => `/api/chargepoints/${x}`),
    segment.map((x) => `/chargepoints/${x}`),
    fc.tuple(segment, segment).map(([a, b]) => `/chargepoints/${a}/${b}`),
    segment.map((x) => `/api/events?chargePoint=${x}`),
    fc.tuple(segment, segment).map(([a, b]) => `/uploads/${a}/${b}`),
    fc
      .constantFrom('TOKEN', 'TOKEN/', 'TOKEN/file.log', 'TOKEN/../x', 'TOKEN/a/b')
      .map((x) => `/uploads/${x}`),
    segment.map((x) => `/${x}?${x}=${x}`),
  ),
  authorization: fc.oneof(
    { weight: 8, arbitrary: fc.constant(STATUS_CREDENTIALS) },
    fc.constant(undefined),
    fc.constantFrom(
      'Basic',
      'Basic !!!',
      'basic ' + 'QUFB'.repeat(400),
      'Bearer x',
      STATUS_CREDENTIALS.toLowerCase(),
    ),
    fc.string({ maxLength: 60 }),
    fc.constant([STATUS_CREDENTIALS, 'Basic Zm9vOmJhcg=='] as string[]),
  ),
  contentType: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'multipart/form-data; boundary=x',
    ),
    fc.string({ maxLength: 40 }),
  ),
  body: fc.oneof(
    fc.constant(undefined),
    oddJsonText,
    fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
  ),
  extraHeaders: fc.dictionary(
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
    fc.string({ maxLength: 80 }).filter((v) => !/[\r\n\0]/.test(v)),
    { maxKeys: 4 },
  ),
});

/** Frame traces asked for, as the status page does, with hostile ids and durations. */
const traceCase = fc
  .record({
    chargePointId: fc.oneof(
      fc.constantFrom('fz/probe', ...HOSTILE_NAMES),
      fc.string({ maxLength: 40 }),
      fc.constant('i'.repeat(5000)),
      fc.constant(7),
    ),
    minutes: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.constantFrom(0.5, 'HUGE', -0, '10', null)),
  })
  .map((b) => ({
    method: 'POST',
    path: '/api/trace',
    authorization: STATUS_CREDENTIALS,
    contentType: 'application/json',
    // JSON.stringify cannot write 1e309 (it writes Infinity as null): put the text in.
    body: JSON.stringify(b).replace('"HUGE"', '1e309'),
    extraHeaders: {},
  }));

/** Station uploads to a real upload URL (TOKEN) and beside it: names, sizes, methods. */
const uploadCase = fc
  .record({
    method: fc.constantFrom('PUT', 'POST', 'PUT', 'GET'),
    path: fc.oneof(
      fc.constantFrom(
        'TOKEN/',
        'TOKEN/diag.log',
        'TOKEN/../../x',
        'TOKEN/.hidden',
        'TOKEN/a/b',
        'not-a-token/x',
      ),
      segment.map((x) => `TOKEN/${x}`),
    ),
    body: fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.integer({ min: 60_000, max: 70_000 }).map((n) => 'l'.repeat(n)),
    ),
  })
  .map((u) => ({
    method: u.method,
    path: `/uploads/${u.path}`,
    authorization: undefined,
    contentType: 'text/plain',
    body: u.body,
    extraHeaders: {},
  }));

/** Bytes that are barely HTTP, on a raw socket: request lines, header floods, garbage. */
const rawHttpCase: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom(
    'GET / HTTP/1.1\r\n\r\n',
    'GET /api/status HTTP/1.0\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    'POST /api/trace HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n',
    'PUT /uploads/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
    'GET /\u0000 HTTP/1.1\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
  ),
  fc.integer({ min: 1, max: 400 }).map((n) => `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(n)}\r\n`),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `GET /${'a'.repeat(n)} HTTP/1.1\r\nHost: x\r\n\r\n`),
);

interface StatusRequest {
  method: string;
  path: string;
  authorization: string | string[] | undefined;
  contentType: string | undefined;
  body: string | undefined;
  extraHeaders: Record<string, string>;
}

/** One request to the status server; its status, -1 when Node refuses to send it, 0 when unanswered in 5 s. */
function statusRequest(base: string, c: StatusRequest): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string | string[]> = { ...c.extraHeaders };
    if (c.authorization !== undefined) headers.Authorization = c.authorization;
    if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
    let req;
    try {
      req = httpRequest(new URL(base).origin + c.path, { method: c.method, headers });
    } catch {
      return resolve(-1);
    }
    const timer = setTimeout(() => {
      req.destroy();
      resolve(0);
    }, 5000);
    const done = (status: number): void => {
      clearTimeout(timer);
      resolve(status);
    };
    req.once('error', () => done(-2)); // the server cut a body it did not want (413, 404 on uploads)
    req.once('response', (res) => {
      // An event stream never ends: its headers are the answer.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) res.destroy();
      else res.resume();
      done(res.statusCode ?? 0);
    });
    if (c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD') req.end(c.body);
    else req.end();
  });
}

/** Raw bytes to the status port; resolves when the server closed or answered, or after 3 s. */
function rawRequest(base: string, text: string): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(base);
    const socket = netConnect(Number(url.port), url.hostname);
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('error', () => undefined);
    socket.on('data', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.write(text);
  });
}

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
  let statusBase: string;
  const sockets: Partial<Record<(typeof VERSIONS)[number], RawChargePoint>> = {};
  let checks = 0;
  const started = Date.now();
  const counts = { frames: 0, handshakes: 0, downlinks: 0, httpRequests: 0 };
  /** Status server answers by HTTP status: shows what the generators reached. */
  const httpStatuses = new Map<number, number>();

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
      statusServer: {
        ...STATUS_AUTH,
        uploads: { folder: 'fuzz-uploads', maxBytes: 65_536, urlValidity: 600 },
      },
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
    statusBase = await h.statusUrl();
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
      `fuzz: ${counts.frames} frames, ${counts.handshakes} handshakes, ${counts.downlinks} ThingsBoard messages, ${counts.httpRequests} status server requests (${[
        ...httpStatuses,
      ]
        .sort(([a], [b]) => a - b)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}), ${checks} liveness checks, 0 crashes, ${seconds} s`,
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

  it(
    'hostile HTTP requests to the status server: paths, methods, headers, bodies, uploads, raw bytes',
    async () => {
      // A real upload URL, as a GetDiagnostics RPC without a location hands one to the probe.
      void tb.sendRpc('fz/probe', 999_999, 'GetDiagnostics', {});
      const call = await probe.waitForFrame(
        (f) => f[0] === 2 && f[2] === 'GetDiagnostics',
        10_000,
        'GetDiagnostics',
      );
      const location = String((call[3] as { location: string }).location);
      const token = /\/uploads\/([A-Za-z0-9_-]+)\//.exec(location)?.[1];
      expect(token).toBeDefined();
      const healthy = async (): Promise<void> => {
        const res = await fetch(new URL('healthz', statusBase));
        if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
      };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 5, arbitrary: statusCase },
            { weight: 1, arbitrary: traceCase },
            { weight: 1, arbitrary: uploadCase },
            { weight: 1, arbitrary: rawHttpCase },
          ),
          async (c) => {
            counts.httpRequests++;
            if (typeof c === 'string') {
              await rawRequest(statusBase, c);
            } else {
              const status = await statusRequest(statusBase, { ...c, path: c.path.replace('TOKEN', token!) });
              httpStatuses.set(status, (httpStatuses.get(status) ?? 0) + 1);
              // Answered, or cut while it still sent a body nobody wants; never left hanging, never a 500.
              expect(status).not.toBe(0);
              expect(status).not.toBe(500);
            }
            await healthy();
            await alive();
          },
        ),
        params,
      );
      expect(gateway.logs.filter((l) => l.msg === 'status server request failed')).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

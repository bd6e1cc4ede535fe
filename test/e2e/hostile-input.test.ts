/**
 * Issue 8, end to end through the built CLI: what a stranger, a broken charge point or a broken
 * ThingsBoard sends must neither stop the gateway nor lose or corrupt data. After each hostile
 * case the process must still be alive and answer a Heartbeat on another socket. A flood of
 * refused handshakes is logged as the first few per reason, then a count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/broker.js';
import { GatewayProcess, TempDir, type LogLine } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  basicAuth,
  handshakeStatus,
  handshakeWithHeaders,
  RawChargePoint,
} from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const PROTO_PW = 'proto-Secret-1a';
const OK_PW = 'ok-Secret-2b';
const TOKEN = 'TOKEN-hostile-3c';
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

/** `[[[…]]]` nested `depth` levels, as text (JSON.stringify could not write it). */
const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('hostile input end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  /** A charge point that stays connected: the liveness probe and the device RPCs go to. */
  let probe: RawChargePoint;
  const opened: RawChargePoint[] = [];
  let rpcId = 0;
  let heartbeats = 0;

  /** The process is alive and still answers a Heartbeat on another socket. */
  async function alive(): Promise<void> {
    expect(gateway.logs.filter((l) => l.level >= 60)).toEqual([]);
    const id = `hb-${++heartbeats}`;
    probe.send(JSON.stringify([2, id, 'Heartbeat', {}]));
    expect((await probe.answerTo(id))[0]).toBe(3);
  }

  async function open(
    path: string,
    protocol: string,
    headers: Record<string, string>,
  ): Promise<RawChargePoint> {
    const cp = await RawChargePoint.open(`${base}/${path}`, [protocol], headers);
    opened.push(cp);
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        {
          name: 'hostile',
          ocpp: {
            centralSystem: {
              port: 0,
              security: [
                {
                  type: 'basic',
                  usernameIsChargePointId: true,
                  // A computed key: `__proto__:` in an object literal would set the prototype instead.
                  passwords: { ['__proto__']: PROTO_PW, CP_OK: OK_PW },
                },
                { type: 'token', tokens: [`Bearer ${TOKEN}`] },
              ],
            },
            chargePoints: [
              {
                idRegexpPattern: `(${PROTOTYPE_NAMES.join('|')}|CP_[A-Z0-9]+)`,
                deviceNameExpression: '${ChargePointId}',
                deviceTypeExpression: 'hostile',
                attributes: [{ messageTypeFilter: 'DataTransfer', key: '${data.k}', value: '${data.v}' }],
                timeseries: [
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'energy',
                    value: '${meter_value[0].sampled_value[0].value}',
                  },
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'voltage',
                    value: '${meter_value[0].sampled_value[1].value}',
                  },
                ],
                attributeUpdates: [
                  {
                    attributeOnThingsBoard: 'config',
                    valueExpression: '{"${attributeKey}":${attributeValue}}',
                    action: 'DataTransfer',
                  },
                ],
                serverSideRpc: [{ methodRPC: 'echo', valueExpression: '${params}', timeout: 2 }],
              },
            ],
          },
        },
      ],
    });
    ({ tb, gateway } = h);
    base = h.urls.hostile!;
    probe = await open('CP_OK', 'ocpp1.6', basicAuth('CP_OK', OK_PW));
    probe.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification()]));
    await probe.answerTo('boot');
    await tb.waitFor(() => tb.fromGateway('v1/gateway/connect').find((m) => m.device === 'CP_OK'));
  });

  afterAll(async () => {
    for (const cp of opened) await cp.shut();
    await h?.stop();
  });

  describe('names of Object.prototype members', () => {
    it.each(PROTOTYPE_NAMES)(
      'identity %s with a wrong password: 401, and the gateway lives on',
      async (id) => {
        expect(await handshakeStatus(`${base}/${id}`, ['ocpp1.6'], basicAuth(id, 'wrong'))).toBe(401);
        await alive();
      },
    );

    it('__proto__ with the password configured for it is admitted and becomes the device "__proto__"', async () => {
      const cp = await open('__proto__', 'ocpp1.6', basicAuth('__proto__', PROTO_PW));
      cp.send(JSON.stringify([2, 'b', 'BootNotification', aBootNotification()]));
      expect((await cp.answerTo('b'))[0]).toBe(3);
      cp.send(
        JSON.stringify([
          2,
          'd',
          'DataTransfer',
          { vendorId: 'x', data: JSON.stringify({ k: 'colour', v: 'red' }) },
        ]),
      );
      expect((await cp.answerTo('d'))[0]).toBe(3);
      const published = await tb.waitFor(() =>
        tb.messages.find((m) => m.topic === 'v1/gateway/attributes' && m.raw.includes('"colour"')),
      );
      expect(published.raw).toBe('{"__proto__":{"colour":"red"}}');
      await alive();
    });

    it('a mapping key rendered as __proto__ still produces its datapoint', async () => {
      probe.send(
        JSON.stringify([
          2,
          'dt',
          'DataTransfer',
          { vendorId: 'x', data: JSON.stringify({ k: '__proto__', v: 42 }) },
        ]),
      );
      expect((await probe.answerTo('dt'))[0]).toBe(3);
      const published = await tb.waitFor(() =>
        tb.messages.find((m) => m.topic === 'v1/gateway/attributes' && m.raw.startsWith('{"CP_OK":')),
      );
      expect(published.raw).toBe('{"CP_OK":{"__proto__":42}}');
    });

    it.each(PROTOTYPE_NAMES)(
      'RPC method and attribute update device %s get answers, not crashes',
      async (name) => {
        const id = ++rpcId;
        expect(await tb.rpc('CP_OK', id, name, {})).toEqual({
          error: expect.stringContaining(`unknown method "${name}"`),
        });
        await tb.sendAttributeUpdate(name, { config: 1 });
        await alive();
      },
    );
  });

  describe('deep JSON', () => {
    it('a shared attribute nested 5,000 levels deep is refused with a warning', async () => {
      await tb.publishRaw(
        'v1/gateway/attributes',
        `{"device":"CP_OK","data":{"config":${deepObject(5000)}}}`,
      );
      await gateway.waitForLog((l) => l.msg.includes('nested deeper than 64 levels'));
      await alive();
    });

    it('an RPC whose params nest 5,000 levels deep gets an error reply', async () => {
      const id = ++rpcId;
      await tb.publishRaw(
        'v1/gateway/rpc',
        `{"device":"CP_OK","data":{"id":${id},"method":"echo","params":${deepArray(5000)}}}`,
      );
      const reply = await tb.waitFor(() => tb.rpcReplies('CP_OK', id)[0]);
      expect(reply.data).toEqual({ error: expect.stringContaining('deeper than 64 levels') });
      await alive();
    });

    it('a CALL nested 100,000 levels deep is answered FormationViolation (1.6) with its id', async () => {
      probe.send(`[2,"deep","DataTransfer",{"vendorId":"x","data":"d","extra":${deepArray(100_000)}}]`);
      const answer = await probe.answerTo('deep');
      expect(answer.slice(0, 3)).toEqual([4, 'deep', 'FormationViolation']);
      expect(answer[3]).toContain('deeper than 64 levels');
      await alive();
    });

    it('a CALLRESULT nested 100,000 levels deep fails that RPC with an error reply at once', async () => {
      const id = ++rpcId;
      await tb.sendRpc('CP_OK', id, 'echo', { vendorId: 'x' });
      const call = await probe.nextCall();
      probe.send(`[3,${JSON.stringify(call[1])},${deepArray(100_000)}]`);
      const reply = await tb.waitFor(() => tb.rpcReplies('CP_OK', id)[0]);
      expect(reply.data).toEqual({ error: expect.stringContaining('unusable') });
      await alive();
    });
  });

  describe('smaller holes', () => {
    it('an RPC id 1e400 is answered with the id ThingsBoard sent', async () => {
      await tb.publishRaw('v1/gateway/rpc', '{"device":"CP_OK","data":{"id":1e400,"method":"nope"}}');
      const reply = await tb.waitFor(() =>
        tb.messages.find(
          (m) => m.topic === 'v1/gateway/rpc' && m.raw.startsWith('{"device":"CP_OK","id":1e400'),
        ),
      );
      expect(reply.raw).toMatch(/^\{"device":"CP_OK","id":1e400,"data":\{"error":/);
    });

    it('1e309 in a 2.0.1 meter value is never published as null; the other values are', async () => {
      const cp = await open('CP_TWO', 'ocpp2.0.1', { authorization: `Bearer ${TOKEN}` });
      const ts = '2026-11-23T10:06:00.000Z';
      cp.send(
        `[2,"mv","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"${ts}","sampledValue":[{"value":1e309},{"value":230}]}]}]`,
      );
      expect((await cp.answerTo('mv'))[0]).toBe(3);
      const telemetry = await tb.waitFor(() =>
        tb.messages.find((m) => m.topic === 'v1/gateway/telemetry' && m.raw.includes('"CP_TWO"')),
      );
      expect(telemetry.json).toEqual({ CP_TWO: [{ ts: Date.parse(ts), values: { voltage: 230 } }] });
      await gateway.waitForLog((l) =>
        l.msg.startsWith('datapoint skipped: its value is a number JSON cannot carry'),
      );
    });

    it('a leap-second timestamp stamps the sample at the last millisecond of its minute', async () => {
      probe.send(
        JSON.stringify([
          2,
          'leap',
          'MeterValues',
          {
            connectorId: 1,
            meterValue: [{ timestamp: '2016-12-31T23:59:60Z', sampledValue: [{ value: '77' }] }],
          },
        ]),
      );
      expect((await probe.answerTo('leap'))[0]).toBe(3);
      // OCPP 1.6 sampled values that are numbers are published as numbers (README, Values with types).
      const telemetry = await tb.waitFor(() =>
        tb.messages.find((m) => m.topic === 'v1/gateway/telemetry' && m.raw.includes('"energy":77')),
      );
      expect(telemetry.json).toEqual({
        CP_OK: [{ ts: Date.UTC(2016, 11, 31, 23, 59, 59, 999), values: { energy: 77 } }],
      });
    });

    it.each([
      ['bearer in lower case', 101, { authorization: `bearer ${TOKEN}` }],
      ['BEARER in upper case', 101, { authorization: `BEARER ${TOKEN}` }],
      [
        'BASIC in upper case',
        101,
        { authorization: basicAuth('__proto__', PROTO_PW).authorization!.replace('Basic', 'BASIC') },
      ],
      [
        'the token with a wrong case in the credentials',
        401,
        { authorization: `Bearer ${TOKEN.toUpperCase()}` },
      ],
    ])('auth scheme %s → %i (RFC 7235: schemes are case-insensitive)', async (_what, status, headers) => {
      // Not CP_OK: a new connection with the probe's id would replace the probe's.
      const id = headers.authorization.startsWith('BASIC') ? '__proto__' : 'CP_AUTH';
      expect(await handshakeStatus(`${base}/${id}`, ['ocpp1.6'], headers)).toBe(status);
    });

    it('two Authorization headers are refused as ambiguous (400), even when one of them is right', async () => {
      expect(await handshakeWithHeaders(`${base}/CP_AUTH`, [`Bearer ${TOKEN}`, 'Bearer other'])).toBe(400);
      expect(await handshakeWithHeaders(`${base}/CP_AUTH`, [`Bearer ${TOKEN}`])).toBe(101);
      await gateway.waitForLog((l) => l.reason === 'several Authorization headers');
    });

    it('20,000 attribute updates for unknown devices give one warning line, and a count at stop', async () => {
      const message = 'attribute update for a device with no live charge point: not delivered';
      for (let i = 0; i < 20_000; i++) {
        await tb.publishRaw(
          'v1/gateway/attributes',
          JSON.stringify({ device: `ghost-${i}`, data: { a: i } }),
          0,
        );
      }
      // Handled in order: once this RPC is answered, every update before it was handled.
      const id = ++rpcId;
      await tb.rpc('CP_OK', id, 'nope', {}, 30_000);
      expect(gateway.logs.filter((l) => l.msg.startsWith(message))).toHaveLength(1);
      try {
        await alive();
      } catch (e) {
        console.log(
          gateway.logs
            .slice(-30)
            .map((l) => JSON.stringify(l).slice(0, 300))
            .join('\n'),
        );
        throw e;
      }
      await gateway.stop();
      const lines = gateway.logs.filter((l) => l.msg.startsWith(message));
      // Earlier cases sent a few such updates too (devices named after Object.prototype members).
      expect(lines).toHaveLength(2);
      expect(lines[0]!.repeated).toBeUndefined();
      expect(lines[1]!.total).toBeGreaterThanOrEqual(20_000);
      expect(lines[1]!.repeated).toBe((lines[1]!.total as number) - 1);
    });
  });
});

describe('a broker that refuses the gateway', () => {
  it('says in words which setting to check, without the token', async () => {
    const dir = new TempDir();
    const broker = await TestBroker.start();
    broker.refused.add('GW_REFUSED_TOKEN');
    dir.write('ocpp.json', { centralSystem: { port: 0 }, chargePoints: [{ idRegexpPattern: 'CP_1' }] });
    const config = dir.write('tb_gateway.json', {
      thingsboard: {
        host: '127.0.0.1',
        port: broker.port,
        security: { accessToken: 'GW_REFUSED_TOKEN' },
        reconnectMinMs: 100,
        reconnectMaxMs: 200,
      },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const gateway = GatewayProcess.run(config);
    try {
      const line = await gateway.waitForLog((l) => l.msg.startsWith('cannot reach ThingsBoard'));
      expect(line.reason).toBe(
        'not authorized: check thingsboard.security (access token, or username and password)',
      );
      expect(gateway.stdout).not.toContain('GW_REFUSED_TOKEN');
    } finally {
      await gateway.stop();
      await broker.stop();
      dir.remove();
    }
  });
});

describe('a handshake flood', () => {
  it('logs the first refusals per reason in full, then one line with the count and samples of ids and addresses', async () => {
    const h = await Harness.start({
      connectors: [
        {
          name: 'flood',
          ocpp: {
            centralSystem: {
              port: 0,
              security: [{ type: 'basic', usernameIsChargePointId: true, passwords: { CP_1: OK_PW } }],
            },
            chargePoints: [{ idRegexpPattern: 'CP_[0-9]+', deviceNameExpression: '${ChargePointId}' }],
          },
        },
      ],
    });
    const base = h.urls.flood!;
    const cp = await RawChargePoint.open(`${base}/CP_1`, ['ocpp1.6'], basicAuth('CP_1', OK_PW));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        statuses.push(
          await handshakeStatus(`${base}/CP_${i + 2}`, ['ocpp1.6'], basicAuth(`CP_${i + 2}`, 'x')),
        );
      }
      for (let i = 0; i < 50; i++) statuses.push(await handshakeStatus(`${base}/stranger-${i}`, ['ocpp1.6']));
      expect(statuses.filter((s) => s === 401)).toHaveLength(300);
      expect(statuses.filter((s) => s === 404)).toHaveLength(50);
      cp.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
      expect((await cp.answerTo('hb'))[0]).toBe(3);

      const byMessage = (msg: string): LogLine[] => h.gateway.logs.filter((l) => l.msg.startsWith(msg));
      const auth = 'charge point refused: authentication failed';
      const notFound = 'charge point refused: no chargePoints entry matches its id';
      // Each of the first ten names the charge point, where it came from, and why.
      expect(byMessage(auth).map((l) => [l.chargePointId, l.remoteAddress, l.reason])).toEqual(
        Array.from({ length: 10 }, (_v, i) => [`CP_${i + 2}`, '127.0.0.1', 'Basic password not accepted']),
      );
      expect(byMessage(notFound)).toHaveLength(10);

      await h.gateway.stop(); // the counts still pending are reported at stop
      const [authSummary] = byMessage(auth).slice(10);
      expect(authSummary).toMatchObject({
        msg: `${auth} (290 more in the last 60 s)`,
        repeated: 290,
        total: 300,
        samples: {
          chargePointId: Array.from({ length: 10 }, (_v, i) => `CP_${i + 12}`),
          remoteAddress: ['127.0.0.1'],
        },
      });
      expect(byMessage(auth)).toHaveLength(11);
      expect(byMessage(notFound).slice(10)).toEqual([
        expect.objectContaining({ repeated: 40, total: 50, msg: `${notFound} (40 more in the last 60 s)` }),
      ]);
    } finally {
      await cp.shut();
      await h.stop();
    }
  });
});

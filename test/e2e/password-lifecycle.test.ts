/**
 * The rest of a Basic password's life, end to end through the built CLI (SQLite, strict ocpp-rpc
 * stations, a status server, the connector's remote logs on at DEBUG):
 * - a password the station applies later — OCPP 2.1 SetNetworkProfile `basicAuthPassword` (B09.FR.14)
 *   or a 1.6 change answered RebootRequired — is admitted beside the old one until the station
 *   uses it, also across a gateway restart;
 * - what a login costs: scrypt once per station and stored password, then remembered; a password
 *   `rotatePassword` generated is checked with one hash (the counters in /api/status);
 * - security RPCs pass the registration feature like any RPC: a Pending station may be given a
 *   new password (B02.FR.01, A01.FR.05), a Rejected one is sent nothing (B03.FR.03);
 * - no password, old or new, nor the signing CA key's password, in anything the gateway publishes
 *   to ThingsBoard (remote configuration and remote logs included) or logs.
 */
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedPair } from '../helpers/certs.js';
import { TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  basicAuth,
  connectChargePoint,
  handshakeStatus,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const INITIAL = {
  CP_NP: 'init-np-Secret-5e6f',
  CP_RB: 'init-rb-Secret-7a8b',
  CP_COST: 'init-cost-Secret-9c0d',
  P_PEND: 'init-pend-Secret-1a2b',
  R_REJ: 'init-rej-Secret-3c4d',
};
type Id = keyof typeof INITIAL;
const NEW_NP = 'network-Profile-Pass-0123456789';
const NEW_RB_TEXT = 'after-Reboot-Pass';
const NEW_RB = Buffer.from(NEW_RB_TEXT).toString('hex').toUpperCase();
const NEW_SET = 'operator-Chosen-Pass-0123';
const CA_KEY_PASSWORD = 'ca-Key-Pass-7f1e';
const PROTOCOL: Record<Id, string> = {
  CP_NP: 'ocpp2.1', // a raw station: ocpp-rpc has no 2.1 schemas
  CP_RB: 'ocpp1.6',
  CP_COST: 'ocpp2.0.1',
  P_PEND: 'ocpp2.0.1',
  R_REJ: 'ocpp1.6',
};
const setVariablesAccepted = {
  setVariableResult: [
    {
      attributeStatus: 'Accepted',
      component: { name: 'SecurityCtrlr' },
      variable: { name: 'BasicAuthPassword' },
    },
  ],
};
const passwordOf = (params: unknown): string =>
  String((params as { setVariableData: { attributeValue: string }[] }).setVariableData[0]?.attributeValue);

describe('password lifecycle: staged passwords, login costs, registration, nothing published', () => {
  const dir = new TempDir();
  let h: Harness;
  let spy: MqttClient | undefined;
  /** Every payload published on the broker (ThingsBoard's view, remote logs included). */
  const published: { topic: string; text: string }[] = [];
  const clients: RpcClient[] = [];
  const generated: string[] = [];
  let statusBase = '';
  let rpcId = 0;

  const login = (id: Id, password: string): Promise<number> =>
    handshakeStatus(`${h.urls.pw}/${id}`, [PROTOCOL[id]], basicAuth(id, password));
  const station = async (id: Id, password = INITIAL[id]): Promise<RpcClient> => {
    const cp = await connectChargePoint({
      url: h.urls.pw ?? '',
      identity: id,
      protocols: [PROTOCOL[id]],
      password,
    });
    clients.push(cp);
    return cp;
  };
  const boot = (cp: RpcClient, id: Id): Promise<unknown> =>
    cp.call('BootNotification', PROTOCOL[id] === 'ocpp1.6' ? aBootNotification() : aBootNotification2());
  const security = async (): Promise<Record<string, number>> => {
    const res = await fetch(new URL('api/status', statusBase));
    const status = (await res.json()) as { connectors: { name: string; security: Record<string, number> }[] };
    return status.connectors.find((c) => c.name === 'pw')?.security ?? {};
  };
  const logged = (id: Id, start: string) =>
    h.gateway.waitForLog((l) => l.chargePointId === id && l.msg.startsWith(start));

  beforeAll(async () => {
    const ca = selfSignedPair('ec', {
      ca: true,
      subject: '/O=Acme/CN=signing-ca',
      password: CA_KEY_PASSWORD,
    });
    dir.write('signing-ca.pem', ca.cert);
    dir.write('signing-ca.key', ca.key);
    h = await Harness.start({
      dir,
      env: { LOG_LEVEL: 'debug' },
      // Remote configuration on: the connector's remote logs follow its file, and the files
      // themselves are published (with their passwords as placeholders).
      thingsboard: { remoteConfiguration: true },
      storage: { type: 'sqlite', data_file_path: join(dir.path, 'gateway.db') },
      statusServer: {},
      beforeGateway: async (port) => {
        spy = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 4 });
        spy.on('message', (topic, payload) => published.push({ topic, text: payload.toString() }));
        await spy.subscribeAsync('#', { qos: 0 });
      },
      connectors: [
        {
          name: 'pw',
          ocpp: {
            enableRemoteLogging: true,
            logLevel: 'DEBUG',
            centralSystem: {
              port: 0,
              security: [{ type: 'basic', usernameIsChargePointId: true, passwords: INITIAL }],
              connection: {
                type: 'insecure',
                signingCa: { cert: 'signing-ca.pem', key: 'signing-ca.key', password: CA_KEY_PASSWORD },
              },
            },
            chargePoints: [
              { idRegexpPattern: 'P_.+', deviceNameExpression: '${ChargePointId}', registration: 'Pending' },
              { idRegexpPattern: 'R_.+', deviceNameExpression: '${ChargePointId}', registration: 'Rejected' },
              { idRegexpPattern: 'CP_.+', deviceNameExpression: '${ChargePointId}' },
            ],
          },
        },
      ],
    });
    statusBase = await h.statusUrl();
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ awaitPending: false, force: true });
    await spy?.endAsync();
    await h?.stop();
  });

  it('2.1 SetNetworkProfile with a basicAuthPassword: both admitted until the station uses the new one, across a restart', async () => {
    // ocpp-rpc has no 2.1 schemas: a raw station (the gateway validates its own CALL against 2.1's).
    const cp = await RawChargePoint.open(
      `${h.urls.pw}/CP_NP`,
      ['ocpp2.1'],
      basicAuth('CP_NP', INITIAL.CP_NP),
    );
    cp.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification2()]));
    expect((await cp.answerTo('boot'))[0]).toBe(3);
    const params = {
      configurationSlot: 2,
      connectionData: {
        ocppInterface: 'Wired0',
        ocppTransport: 'JSON',
        messageTimeout: 30,
        ocppCsmsUrl: h.urls.pw,
        securityProfile: 1,
        basicAuthPassword: NEW_NP,
      },
    };
    const reply = h.tb.rpc('CP_NP', ++rpcId, 'SetNetworkProfile', params);
    const call = await cp.nextCall();
    expect(call).toEqual([2, expect.any(String), 'SetNetworkProfile', params]);
    cp.answer(String(call[1]), { status: 'Accepted' });
    expect(await reply).toEqual({ result: { status: 'Accepted' } });
    await logged('CP_NP', 'charge point took a password it uses later');
    await cp.shut();
    // Until the station switches profiles it logs in with the old password: that settles nothing.
    expect([await login('CP_NP', INITIAL.CP_NP), await login('CP_NP', INITIAL.CP_NP)]).toEqual([101, 101]);
    await h.restartGateway();
    statusBase = await h.statusUrl();
    expect([
      await login('CP_NP', INITIAL.CP_NP),
      await login('CP_NP', NEW_NP),
      await login('CP_NP', INITIAL.CP_NP),
      await login('CP_NP', NEW_NP),
    ]).toEqual([101, 101, 401, 101]);
  });

  it('1.6 AuthorizationKey answered RebootRequired: the old key keeps working until the new one is used', async () => {
    const cp = await station('CP_RB');
    cp.handle('ChangeConfiguration', () => ({ status: 'RebootRequired' }));
    await boot(cp, 'CP_RB');
    expect(
      await h.tb.rpc('CP_RB', ++rpcId, 'ChangeConfiguration', { key: 'AuthorizationKey', value: NEW_RB }),
    ).toEqual({ result: { status: 'RebootRequired' } });
    await logged('CP_RB', 'charge point took a password it uses later');
    await cp.close({ awaitPending: false, force: true });
    expect([
      await login('CP_RB', INITIAL.CP_RB),
      await login('CP_RB', INITIAL.CP_RB),
      await login('CP_RB', NEW_RB_TEXT),
      await login('CP_RB', INITIAL.CP_RB),
      await login('CP_RB', NEW_RB),
    ]).toEqual([101, 101, 101, 401, 101]);
    // Counted since the restart above: this one.
    expect(await security()).toMatchObject({ passwordsStaged: 1 });
  });

  it('scrypt once per station and stored password, then remembered; a generated password costs one hash', async () => {
    const cp = await station('CP_COST');
    cp.handle('SetVariables', ({ params }) => {
      generated.push(passwordOf(params));
      return setVariablesAccepted;
    });
    await boot(cp, 'CP_COST');
    const set = { component: 'SecurityCtrlr', variable: 'BasicAuthPassword', value: NEW_SET };
    await h.tb.rpc('CP_COST', ++rpcId, 'set', set);
    await logged('CP_COST', 'charge point accepted its new password');
    const before = await security();
    const delta = async (): Promise<Record<string, number>> => {
      const now = await security();
      const keys = ['passwordChecksCached', 'passwordChecksHashed', 'passwordChecksKdf'];
      return Object.fromEntries(keys.map((k) => [k, (now[k] ?? 0) - (before[k] ?? 0)]));
    };
    expect([
      await login('CP_COST', NEW_SET),
      await login('CP_COST', NEW_SET),
      await login('CP_COST', NEW_SET),
    ]).toEqual([101, 101, 101]);
    // A wrong password for a station whose password is remembered: refused without scrypt.
    expect(await login('CP_COST', INITIAL.CP_COST)).toBe(401);
    expect(await delta()).toEqual({ passwordChecksCached: 3, passwordChecksHashed: 0, passwordChecksKdf: 1 });

    const again = await station('CP_COST', NEW_SET);
    again.handle('SetVariables', ({ params }) => {
      generated.push(passwordOf(params));
      return setVariablesAccepted;
    });
    await boot(again, 'CP_COST');
    expect(await h.tb.rpc('CP_COST', ++rpcId, 'rotatePassword', {})).toEqual({
      result: { status: 'Accepted', stored: 'changed' },
    });
    const rotated = generated.at(-1) ?? '';
    expect(rotated).toMatch(/^[A-Za-z0-9*\-_=:+|@.]{40}$/);
    expect([
      await login('CP_COST', rotated),
      await login('CP_COST', rotated),
      await login('CP_COST', NEW_SET),
    ]).toEqual([101, 101, 401]);
    // The station's own connect with NEW_SET (cached), the rotated password's first login (one
    // hash), its second and NEW_SET against the new verifier (cached: known to differ).
    expect(await delta()).toEqual({ passwordChecksCached: 6, passwordChecksHashed: 1, passwordChecksKdf: 1 });
  });

  it('security RPCs pass the registration: a Pending station gets its new password, a Rejected one nothing', async () => {
    const pending = await station('P_PEND');
    pending.handle('SetVariables', ({ params }) => {
      generated.push(passwordOf(params));
      return setVariablesAccepted;
    });
    expect(await boot(pending, 'P_PEND')).toMatchObject({ status: 'Pending' });
    expect(await h.tb.rpc('P_PEND', ++rpcId, 'rotatePassword', {})).toEqual({
      result: { status: 'Accepted', stored: 'changed' },
    });
    expect([await login('P_PEND', generated.at(-1) ?? ''), await login('P_PEND', INITIAL.P_PEND)]).toEqual([
      101, 401,
    ]);

    const rejected = await station('R_REJ');
    let sent = 0;
    rejected.handle('ChangeConfiguration', () => {
      sent++;
      return { status: 'Accepted' };
    });
    rejected.handle('InstallCertificate', () => {
      sent++;
      return { status: 'Accepted' };
    });
    expect(await boot(rejected, 'R_REJ')).toMatchObject({ status: 'Rejected' });
    const reply = (await h.tb.rpc('R_REJ', ++rpcId, 'rotatePassword', {})) as { error?: string };
    expect(reply.error).toMatch(/ChangeConfiguration not sent: the charge point's registration is Rejected/);
    expect(sent).toBe(0);
    expect(await login('R_REJ', INITIAL.R_REJ)).toBe(101);
  });

  it('publishes no password, old or new, to ThingsBoard — remote logs carry the frames, masked', async () => {
    const secrets = [
      ...Object.values(INITIAL),
      NEW_NP,
      NEW_RB,
      NEW_RB_TEXT,
      NEW_SET,
      CA_KEY_PASSWORD,
      ...generated,
    ];
    // The connector's file was published (remote configuration), its secrets as placeholders.
    expect(published.some((m) => m.text.includes('"signingCa":') && m.text.includes('<secret:'))).toBe(true);
    expect(generated.length).toBeGreaterThanOrEqual(3);
    // The connector's remote log lines reached the broker with the password writes in them, masked.
    const frames = (): string[] =>
      published
        .filter((m) => m.topic === 'v1/devices/me/telemetry' && m.text.includes('pw_LOGS'))
        .flatMap((m) => m.text.split('"pw_LOGS":').slice(1))
        .filter((line) => line.includes('OCPP frame') && line.includes('attributeValue'));
    await h.tb.waitFor(() => frames().length > 0, 10_000, 'remote log lines with password writes');
    expect(frames().filter((line) => !/attributeValue[^,]*\*\*\*/.test(line))).toEqual([]);
    // Everything on the broker but ThingsBoard's own RPC requests (which carry what the operator
    // typed): the gateway's publishes, its RPC replies and remote logs among them.
    const fromThingsBoard = (m: { topic: string; text: string }): boolean =>
      m.topic === 'v1/gateway/rpc' && /^\{"device":"[^"]*","data":\{"id":\d+,"method":/.test(m.text);
    const all = published
      .filter((m) => !fromThingsBoard(m))
      .map((m) => m.text)
      .join('\n');
    expect(published.filter(fromThingsBoard).length).toBe(rpcId);
    expect(secrets.filter((s) => all.includes(s))).toEqual([]);
    const local = h.gateway.stdout + h.gateway.stderr;
    expect(secrets.filter((s) => local.includes(s))).toEqual([]);
  });
});

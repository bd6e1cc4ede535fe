/**
 * Basic-auth password rotation from ThingsBoard, end to end through the built CLI with SQLite
 * storage and strict ocpp-rpc stations: whichever way ThingsBoard sets a station's password
 * (action-named RPC, the reserved `set`, a serverSideRpc entry, `rotatePassword`), once the
 * station accepts, only the new password is admitted — also after a gateway restart.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { listeningPort } from '../helpers/listening.js';
import {
  aBootNotification,
  basicAuth,
  connectChargePoint,
  handshakeStatus,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const INITIAL = {
  CP_16: 'init-16-Secret-a1b2',
  CP_201: 'init-201-Secret-c3d4',
  CP_REJ: 'init-rej-Secret-e5f6',
  CP_SILENT: 'init-silent-Secret-0a9b',
  CP_ROT: 'init-rot-Secret-7c8d',
  CP_ROT16: 'init-rot16-Secret-1e2f',
};
type Id = keyof typeof INITIAL;
const NEW_16_TEXT = 'new-Plain-Pass-16x';
const NEW_16 = Buffer.from(NEW_16_TEXT).toString('hex').toUpperCase();
const NEW_201 = 'New-201-Pass*word-0123456789';
const NEW_REJ = 'New-rej-Pass-0123456789';
const NEW_SILENT = 'New-silent-Pass-0123456789';
const SET_PASSWORD =
  '{"setVariableData":[{"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},"attributeValue":"${params.password}"}]}';

describe('password rotation from ThingsBoard (SQLite, across a restart)', () => {
  const dir = new TempDir();
  let h: Harness;
  let port = 0;
  let rpcId = 0;
  const clients: RpcClient[] = [];
  const generated: Partial<Record<Id, string[]>> = {};

  const status = (id: Id, password: string, protocol = 'ocpp1.6'): Promise<number> =>
    handshakeStatus(`ws://127.0.0.1:${port}/${id}`, [protocol], basicAuth(id, password));
  const station = async (
    id: Id,
    protocol: 'ocpp1.6' | 'ocpp2.0.1',
    password = INITIAL[id],
  ): Promise<RpcClient> => {
    const cp = await connectChargePoint({
      url: `ws://127.0.0.1:${port}`,
      identity: id,
      protocols: [protocol],
      password,
    });
    clients.push(cp);
    return cp;
  };
  const boot = (cp: RpcClient, protocol: string): Promise<unknown> =>
    cp.call('BootNotification', protocol === 'ocpp1.6' ? aBootNotification() : aBootNotification2());
  const accepted = (id: Id) =>
    h.gateway.waitForLog(
      (l) => l.chargePointId === id && l.msg.startsWith('charge point accepted its new password'),
    );

  beforeAll(async () => {
    h = await Harness.start({
      dir,
      storage: { type: 'sqlite', data_file_path: join(dir.path, 'gateway.db') },
      connectors: [
        {
          name: 'pw',
          ocpp: {
            centralSystem: {
              port: 0,
              security: [{ type: 'basic', usernameIsChargePointId: true, passwords: INITIAL }],
            },
            chargePoints: [
              {
                idRegexpPattern: 'CP_.+',
                deviceNameExpression: '${ChargePointId}',
                serverSideRpc: [
                  {
                    methodRPC: 'setPassword',
                    action: 'SetVariables',
                    valueExpression: SET_PASSWORD,
                    timeout: 1,
                  },
                ],
              },
            ],
          },
        },
      ],
    });
    port = Number(new URL(h.urls.pw ?? '').port);
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ awaitPending: false, force: true });
    await h?.stop();
  });

  it('1.6 ChangeConfiguration of AuthorizationKey (action-named RPC): the new key is admitted, the old refused', async () => {
    const cp = await station('CP_16', 'ocpp1.6');
    cp.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    await boot(cp, 'ocpp1.6');
    const reply = await h.tb.rpc('CP_16', ++rpcId, 'ChangeConfiguration', {
      key: 'AuthorizationKey',
      value: NEW_16,
    });
    expect(reply).toEqual({ result: { status: 'Accepted' } });
    await accepted('CP_16');
    // 1.6 whitepaper: the key is hex; stations that decode it and stations that do not both get in.
    expect([
      await status('CP_16', INITIAL.CP_16),
      await status('CP_16', NEW_16),
      await status('CP_16', NEW_16_TEXT),
    ]).toEqual([401, 101, 101]);
  });

  it('2.0.1 SetVariables of SecurityCtrlr.BasicAuthPassword through the reserved `set` RPC', async () => {
    const cp = await station('CP_201', 'ocpp2.0.1');
    let asked: unknown;
    cp.handle('SetVariables', ({ params }) => {
      asked = params;
      return {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      };
    });
    await boot(cp, 'ocpp2.0.1');
    const params = { component: 'SecurityCtrlr', variable: 'BasicAuthPassword', value: NEW_201 };
    expect(await h.tb.rpc('CP_201', ++rpcId, 'set', params)).toMatchObject({
      result: { setVariableResult: [{ attributeStatus: 'Accepted' }] },
    });
    expect(asked).toEqual({
      setVariableData: [
        {
          component: { name: 'SecurityCtrlr' },
          variable: { name: 'BasicAuthPassword' },
          attributeValue: NEW_201,
        },
      ],
    });
    await accepted('CP_201');
    expect([
      await status('CP_201', INITIAL.CP_201, 'ocpp2.0.1'),
      await status('CP_201', NEW_201, 'ocpp2.0.1'),
    ]).toEqual([401, 101]);
  });

  it('a station that rejects the new password (serverSideRpc entry) keeps the old one', async () => {
    const cp = await station('CP_REJ', 'ocpp2.0.1');
    cp.handle('SetVariables', () => ({
      setVariableResult: [
        {
          attributeStatus: 'Rejected',
          component: { name: 'SecurityCtrlr' },
          variable: { name: 'BasicAuthPassword' },
        },
      ],
    }));
    await boot(cp, 'ocpp2.0.1');
    await h.tb.rpc('CP_REJ', ++rpcId, 'setPassword', { password: NEW_REJ });
    await h.gateway.waitForLog(
      (l) => l.chargePointId === 'CP_REJ' && l.msg.startsWith('charge point did not take'),
    );
    expect([
      await status('CP_REJ', NEW_REJ, 'ocpp2.0.1'),
      await status('CP_REJ', INITIAL.CP_REJ, 'ocpp2.0.1'),
    ]).toEqual([401, 101]);
  });

  it('a change never answered admits both passwords until the station logs in with one', async () => {
    const cp = await station('CP_SILENT', 'ocpp2.0.1');
    cp.handle('SetVariables', () => new Promise(() => undefined));
    await boot(cp, 'ocpp2.0.1');
    expect(await h.tb.rpc('CP_SILENT', ++rpcId, 'setPassword', { password: NEW_SILENT })).toEqual({
      error: expect.stringContaining('no answer to SetVariables'),
    });
    await h.gateway.waitForLog(
      (l) => l.chargePointId === 'CP_SILENT' && l.msg.startsWith('password change not confirmed'),
    );
    // It logs in with the new one: that decides, and the old one is refused from then on.
    expect(await status('CP_SILENT', NEW_SILENT, 'ocpp2.0.1')).toBe(101);
    expect(await status('CP_SILENT', INITIAL.CP_SILENT, 'ocpp2.0.1')).toBe(401);
  });

  it('rotatePassword generates, sets and stores a strong password without revealing it', async () => {
    const cp = await station('CP_ROT', 'ocpp2.0.1');
    cp.handle('SetVariables', ({ params }) => {
      const value = String(
        (params as { setVariableData: { attributeValue: string }[] }).setVariableData[0]?.attributeValue,
      );
      generated.CP_ROT = [value];
      return {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      };
    });
    await boot(cp, 'ocpp2.0.1');
    expect(await h.tb.rpc('CP_ROT', ++rpcId, 'rotatePassword', {})).toEqual({
      result: { status: 'Accepted', stored: 'changed' },
    });
    const password = generated.CP_ROT?.[0] ?? '';
    // 2.0.1 passwordString: 16–40 characters of letters, digits and *-_=:+|@.
    expect(password).toMatch(/^[A-Za-z0-9*\-_=:+|@.]{40}$/);
    expect([
      await status('CP_ROT', INITIAL.CP_ROT, 'ocpp2.0.1'),
      await status('CP_ROT', password, 'ocpp2.0.1'),
    ]).toEqual([401, 101]);
  });

  it('rotatePassword on 1.6 writes a hex AuthorizationKey, and reveals it only when asked', async () => {
    const cp = await station('CP_ROT16', 'ocpp1.6');
    let written = '';
    cp.handle('ChangeConfiguration', ({ params }) => {
      written = String((params as { value: string }).value);
      return { status: 'Accepted' };
    });
    await boot(cp, 'ocpp1.6');
    const reply = (await h.tb.rpc('CP_ROT16', ++rpcId, 'rotatePassword', { reveal: true })) as {
      result: Record<string, string>;
    };
    expect(reply.result).toEqual({
      status: 'Accepted',
      stored: 'changed',
      password: written,
      basicAuthPassword: Buffer.from(written, 'hex').toString(),
    });
    expect(written).toMatch(/^[0-9A-F]{40}$/);
    expect(reply.result.basicAuthPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    generated.CP_ROT16 = [written, reply.result.basicAuthPassword ?? ''];
    expect(await status('CP_ROT16', INITIAL.CP_ROT16)).toBe(401);
    expect(await status('CP_ROT16', written)).toBe(101);
  });

  it('after a restart (SQLite) the rotated passwords still admit and the old ones are still refused', async () => {
    for (const cp of clients.splice(0)) await cp.close({ awaitPending: false, force: true });
    await h.gateway.stop();
    h.gateway = GatewayProcess.run(join(dir.path, 'tb_gateway.json'));
    await h.gateway.started();
    port = await listeningPort(h.gateway, 'pw');
    const rows: [Id, string, number, string?][] = [
      ['CP_16', INITIAL.CP_16, 401],
      ['CP_16', NEW_16_TEXT, 101],
      ['CP_201', INITIAL.CP_201, 401, 'ocpp2.0.1'],
      ['CP_201', NEW_201, 101, 'ocpp2.0.1'],
      ['CP_REJ', INITIAL.CP_REJ, 101, 'ocpp2.0.1'],
      ['CP_ROT', generated.CP_ROT?.[0] ?? '', 101, 'ocpp2.0.1'],
      ['CP_ROT16', generated.CP_ROT16?.[1] ?? '', 101],
      ['CP_ROT16', INITIAL.CP_ROT16, 401],
    ];
    for (const [id, password, expected, protocol] of rows)
      expect([id, await status(id, password, protocol)]).toEqual([id, expected]);
  });

  it('no password, old or new, ever reaches the log', () => {
    const secrets = [
      ...Object.values(INITIAL),
      NEW_16,
      NEW_16_TEXT,
      NEW_201,
      NEW_REJ,
      NEW_SILENT,
      ...Object.values(generated).flat(),
    ];
    expect(secrets.length).toBeGreaterThan(10);
    const out = h.gateway.stdout + h.gateway.stderr;
    expect(out.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => out.includes(s))).toEqual([]);
  });
});

/**
 * OCPP security profiles end to end, with certificates made by `openssl` inside the test: one
 * gateway process running several OCPP connectors (one profile per port, as the security
 * whitepaper asks), each refusal checked on the wire and in the log, and no secret in the log.
 *
 *   wss-basic   profile 2: TLS (RSA server certificate) + HTTP Basic, global credentials
 *   wss-per-cp  profile 2: TLS (ECDSA server certificate) + Basic, username = charge point identity
 *   ws-file     profile 1: Basic, username = identity, passwords from a file of sha256 hashes
 *   mtls        profile 3: client certificate from our CA, CN = identity
 *   legacy      TLS with `allowLegacyTls` (TLS 1.0/1.1 admitted for old 1.6 chargers)
 */
import { createHash } from 'node:crypto';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeTestCertificates, type KeyPair, type TestCertificates } from '../helpers/certs.js';
import { TempDir, type GatewayProcess, type LogLine } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, basicAuth, handshakeStatus, RawChargePoint } from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const IDENTITY = 'CP_SEC';
const ADMIN_SECRET = 'adm1n-Secret-7f3e';
const CP_SECRET = 'cp-Secret-5d2c';
const FILE_SECRET = 'file-Secret-0b7e';
const WRONG_SECRET = 'wrong-Secret-91ab';
const SECRETS = [ADMIN_SECRET, CP_SECRET, FILE_SECRET, WRONG_SECRET];
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

type Connector = 'wss-basic' | 'wss-per-cp' | 'ws-file' | 'mtls' | 'legacy';

/** The server certificate a TLS port presents, and the protocol a client with `options` gets. */
function peerOf(
  port: number,
  options: ConnectionOptions,
): Promise<{ cert: PeerCertificate; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options }, () => {
      const result = { cert: socket.getPeerCertificate(), protocol: socket.getProtocol() };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

describe('security profiles (several OCPP connectors in one gateway)', () => {
  const dir = new TempDir();
  let certs: TestCertificates;
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  const ports = {} as Record<Connector, number>;
  const raws: RawChargePoint[] = [];
  let rpcId = 0;

  // One id per connector: the gateway remembers the highest security profile an id connected with
  // and refuses lower ones (no downgrade), which is not what these rows are about.
  const url = (c: Connector, path = `${c}/${IDENTITY}`): string =>
    `${c === 'ws-file' ? 'ws' : 'wss'}://127.0.0.1:${ports[c]}/${path}`;
  const trustCa = (): { ca: Buffer } => ({ ca: certs.ca });
  const withCert = (pair: KeyPair): { ca: Buffer; cert: Buffer; key: Buffer } => ({
    ca: certs.ca,
    cert: pair.cert,
    key: pair.key,
  });

  /**
   * Waits for the refusal `connector` logged with `reason`, and claims it, so that a later wait
   * for the same reason needs a new line (every refused handshake below waits for its own).
   */
  const claimed = new Set<LogLine>();
  const refusal = async (connector: Connector, reason: string): Promise<Record<string, unknown>> => {
    const line = await gateway.waitForLog(
      (l) =>
        !claimed.has(l) &&
        l.connector === connector &&
        l.reason === reason &&
        l.msg.startsWith('charge point refused'),
      5000,
      `refusal by ${connector} for "${reason}"`,
    );
    claimed.add(line);
    return { level: line.level, chargePointId: line.chargePointId };
  };
  const WARN = 40;
  /** ocpp_gateway_handshakes_total of one connector, by result, from /metrics. */
  const handshakeResults = async (connector: Connector): Promise<Record<string, number>> => {
    const text = await (await fetch(new URL('metrics', await h.statusUrl()))).text();
    const results: Record<string, number> = {};
    const series = new RegExp(
      `^ocpp_gateway_handshakes_total\\{connector="${connector}",result="([a-z_]+)"\\} (\\d+)$`,
      'gm',
    );
    for (const [, result, n] of text.matchAll(series)) results[result ?? ''] = Number(n);
    return results;
  };

  beforeAll(async () => {
    certs = makeTestCertificates(dir.path, IDENTITY);
    dir.write(
      'passwords.txt',
      `# id:sha256(password)\nCP_OTHER:${sha256('x')}\n${IDENTITY}:${sha256(FILE_SECRET)}\n`,
    );
    const tls = (pair: KeyPair, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      type: 'tls',
      cert: pair.certFile,
      key: pair.keyFile,
      ...extra,
    });
    const chargePoints = (c: Connector): unknown[] => [
      {
        idRegexpPattern: `${c}/.+`,
        deviceNameExpression: `${c} \${ChargePointId}`,
        deviceTypeExpression: 'test',
      },
    ];
    const files: Record<Connector, Record<string, unknown>> = {
      'wss-basic': {
        centralSystem: {
          port: 0,
          connection: tls(certs.serverRsa),
          security: [{ type: 'basic', credentials: [{ username: 'admin', password: ADMIN_SECRET }] }],
        },
      },
      'wss-per-cp': {
        centralSystem: {
          port: 0,
          connection: tls(certs.serverEcdsa),
          security: [{ type: 'basic', usernameIsChargePointId: true, passwords: { [IDENTITY]: CP_SECRET } }],
        },
      },
      'ws-file': {
        centralSystem: {
          port: 0,
          connection: { type: 'insecure' },
          security: [{ type: 'basic', usernameIsChargePointId: true, passwordsFile: 'passwords.txt' }],
        },
      },
      mtls: {
        centralSystem: {
          port: 0,
          connection: tls(certs.serverRsa, {
            ca: certs.caFile,
            requireClientCertificate: true,
            clientCertificateCnMustMatchId: true,
          }),
        },
      },
      legacy: {
        centralSystem: { port: 0, connection: tls(certs.serverRsa, { allowLegacyTls: true }) },
      },
    };
    h = await Harness.start({
      dir,
      accessToken: 'GW_SECURITY',
      connectors: Object.entries(files).map(([name, file]) => ({
        name,
        ocpp: { ...file, chargePoints: chargePoints(name as Connector) },
      })),
    });
    ({ tb, gateway } = h);
    for (const c of Object.keys(files) as Connector[]) ports[c] = Number(new URL(h.urls[c] ?? '').port);
  });

  afterAll(async () => {
    for (const raw of raws) await raw.shut();
    await h?.stop();
  });

  describe('profile 2: TLS + HTTP Basic', () => {
    it.each([
      ['the right password', 101, basicAuth('admin', ADMIN_SECRET), undefined],
      ['a wrong password', 401, basicAuth('admin', WRONG_SECRET), 'Basic credentials not accepted'],
      ['no credentials (a weaker profile)', 401, {}, 'no Authorization header'],
    ])(
      'wss with %s → %i, a refusal logged with the id and the reason',
      async (_what, status, headers, reason) => {
        expect(await handshakeStatus(url('wss-basic'), ['ocpp1.6'], headers, trustCa())).toBe(status);
        if (reason !== undefined) {
          expect(await refusal('wss-basic', reason)).toEqual({
            level: WARN,
            chargePointId: `wss-basic/${IDENTITY}`,
          });
        }
      },
    );

    it('plain ws to a TLS port (profile 1 on a profile 2 port) is refused', async () => {
      const plain = url('wss-basic').replace('wss:', 'ws:');
      await expect(handshakeStatus(plain, ['ocpp1.6'], basicAuth('admin', ADMIN_SECRET))).rejects.toThrow(
        'socket hang up',
      );
      // Refused before any HTTP request was read: logged without an id (none is known yet).
      const logged = await gateway.waitForLog(
        (l) => l.connector === 'wss-basic' && l.reason === 'ERR_SSL_HTTP_REQUEST',
      );
      expect(logged.msg).toBe('connection refused: TLS handshake failed');
    });

    it('serves an RSA certificate (wss-basic) and an ECDSA one (wss-per-cp), both verified by the client', async () => {
      const rsa = await peerOf(ports['wss-basic'], trustCa());
      const ecdsa = await peerOf(ports['wss-per-cp'], trustCa());
      expect({ bits: rsa.cert.bits, curve: rsa.cert.asn1Curve }).toEqual({ bits: 2048, curve: undefined });
      expect({ bits: ecdsa.cert.bits, curve: ecdsa.cert.asn1Curve }).toEqual({
        bits: 256,
        curve: 'prime256v1',
      });
      expect(
        await handshakeStatus(url('wss-per-cp'), ['ocpp1.6'], basicAuth(IDENTITY, CP_SECRET), trustCa()),
      ).toBe(101);
    });
  });

  describe('Basic with usernameIsChargePointId (A00.FR.203–205)', () => {
    it.each([
      ['username = identity, its password', 'wss-per-cp', 101, basicAuth(IDENTITY, CP_SECRET), undefined],
      [
        'username ≠ identity, the right password',
        'wss-per-cp',
        401,
        basicAuth('CP_OTHER', CP_SECRET),
        'Basic username does not equal the charge point identity',
      ],
      [
        'username = identity, a wrong password',
        'wss-per-cp',
        401,
        basicAuth(IDENTITY, WRONG_SECRET),
        'Basic password not accepted',
      ],
      [
        'passwordsFile: the password whose sha256 is listed',
        'ws-file',
        101,
        basicAuth(IDENTITY, FILE_SECRET),
        undefined,
      ],
      [
        'passwordsFile: a wrong password',
        'ws-file',
        401,
        basicAuth(IDENTITY, WRONG_SECRET),
        'Basic password not accepted',
      ],
      [
        'passwordsFile: another listed id as username',
        'ws-file',
        401,
        basicAuth('CP_OTHER', 'x'),
        'Basic username does not equal the charge point identity',
      ],
    ] as const)('%s (%s) → %i', async (_what, connector, status, headers, reason) => {
      const options = connector === 'ws-file' ? {} : trustCa();
      expect(await handshakeStatus(url(connector), ['ocpp1.6'], headers, options)).toBe(status);
      if (reason !== undefined) {
        expect(await refusal(connector, reason)).toEqual({
          level: WARN,
          chargePointId: `${connector}/${IDENTITY}`,
        });
      }
    });
  });

  describe('profile 3: client certificates', () => {
    it.each([
      ['a certificate from our CA with CN = identity', 101, () => withCert(certs.client), undefined],
      ['no certificate', 401, () => trustCa(), 'no client certificate'],
      [
        'a certificate from another CA',
        401,
        () => withCert(certs.clientOtherCa),
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      ],
      [
        'a certificate whose CN is another id',
        401,
        () => withCert(certs.clientWrongCn),
        'certificate CN is not the charge point identity',
      ],
    ] as const)('%s → %i', async (_what, status, options, reason) => {
      expect(await handshakeStatus(url('mtls'), ['ocpp1.6'], {}, options())).toBe(status);
      if (reason !== undefined) {
        expect(await refusal('mtls', reason)).toEqual({ level: WARN, chargePointId: `mtls/${IDENTITY}` });
      }
    });
  });

  describe('TLS versions', () => {
    const tls11 = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

    it('a TLS 1.1 client is refused by default (TLS 1.2 minimum), and the failure is logged', async () => {
      const since = gateway.logs.length;
      await expect(peerOf(ports['wss-basic'], { ...trustCa(), ...tls11 })).rejects.toMatchObject({
        code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      });
      const logged = await gateway.waitForLog(
        (l) =>
          gateway.logs.indexOf(l) >= since &&
          l.connector === 'wss-basic' &&
          l.msg === 'connection refused: TLS handshake failed' &&
          l.reason === 'ERR_SSL_UNSUPPORTED_PROTOCOL',
      );
      expect({ level: logged.level, remoteAddress: logged.remoteAddress }).toEqual({
        level: WARN,
        remoteAddress: '127.0.0.1',
      });
    });

    it('with allowLegacyTls a TLS 1.1 client is admitted, for OCPP 1.6 only (1.6 A00.FR.312, 2.0.1 A00.FR.313)', async () => {
      // This machine's OpenSSL still offers TLS 1.1 at security level 0; the row proves the option works.
      expect((await peerOf(ports.legacy, { ...trustCa(), ...tls11 })).protocol).toBe('TLSv1.1');
      expect(await handshakeStatus(url('legacy'), ['ocpp1.6'], {}, { ...trustCa(), ...tls11 })).toBe(101);
      const served = (protocols: string[], options: ConnectionOptions): Promise<string> =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url('legacy'), protocols, options);
          ws.once('open', () => {
            resolve(ws.protocol);
            ws.close();
          });
          ws.once('error', reject);
        });
      // Offered 2.1, 2.0.1 and 1.6: TLS 1.2 gets the newest, TLS 1.1 gets 1.6.
      const all = ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'];
      expect(await served(all, { ...trustCa(), maxVersion: 'TLSv1.2' })).toBe('ocpp2.1');
      expect(await served(all, { ...trustCa(), ...tls11 })).toBe('ocpp1.6');
      // 2.0.1 only over TLS 1.1: no version in common, the handshake completes without one and closes.
      await expect(served(['ocpp2.0.1'], { ...trustCa(), ...tls11 })).rejects.toThrow('no subprotocol');
      await gateway.waitForLog(
        (l) => l.connector === 'legacy' && l.reason === 'no OCPP version in common',
        5000,
        'the 2.0.1 station over TLS 1.1 refused',
      );
    });

    it('with allowLegacyTls a TLS 1.2 client that picks a CBC suite is refused (1.6 A00.FR.319/321/324)', async () => {
      const cbc = { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' } as const;
      expect((await peerOf(ports.legacy, { ...trustCa(), ...cbc })).protocol).toBe('TLSv1.2');
      const before = await handshakeResults('legacy');
      expect(await handshakeStatus(url('legacy'), ['ocpp1.6'], {}, { ...trustCa(), ...cbc })).toBe(401);
      expect(
        await refusal(
          'legacy',
          'TLSv1.2 with AES128-SHA: a legacy cipher suite is for TLS 1.0/1.1 stations only',
        ),
      ).toEqual({
        level: WARN,
        chargePointId: `legacy/${IDENTITY}`,
      });
      // Counted as a TLS failure, not as a bad credential.
      const after = await handshakeResults('legacy');
      expect({
        tls_failed: (after.tls_failed ?? 0) - (before.tls_failed ?? 0),
        unauthorized: (after.unauthorized ?? 0) - (before.unauthorized ?? 0),
      }).toEqual({ tls_failed: 1, unauthorized: 0 });
      const line = gateway.logs.find(
        (l) => l.connector === 'legacy' && String(l.reason).includes('legacy cipher suite'),
      );
      expect(line?.msg).toBe('charge point refused: legacy cipher suite on TLS 1.2 or newer');
      // The same suite over TLS 1.1 is what the option is for.
      expect(
        await handshakeStatus(
          url('legacy'),
          ['ocpp1.6'],
          {},
          { ...trustCa(), ...tls11, ciphers: 'AES128-SHA:@SECLEVEL=0' },
        ),
      ).toBe(101);
    });

    it('TLS 1.2 and 1.3 clients are admitted', async () => {
      expect((await peerOf(ports['wss-basic'], { ...trustCa(), maxVersion: 'TLSv1.2' })).protocol).toBe(
        'TLSv1.2',
      );
      expect((await peerOf(ports['wss-basic'], trustCa())).protocol).toBe('TLSv1.3');
    });
  });

  describe('one gateway, several connectors', () => {
    it('a plain port (profile 1) and an mTLS port (profile 3) both serve charge points and RPCs', async () => {
      const plain = await RawChargePoint.open(url('ws-file'), ['ocpp1.6'], basicAuth(IDENTITY, FILE_SECRET));
      const mtls = await RawChargePoint.open(url('mtls'), ['ocpp1.6'], {}, withCert(certs.client));
      raws.push(plain, mtls);
      for (const [cp, device] of [
        [plain, `ws-file ws-file/${IDENTITY}`],
        [mtls, `mtls mtls/${IDENTITY}`],
      ] as const) {
        cp.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification()]));
        expect((await cp.answerTo('boot'))[0]).toBe(3);
        const connect = await tb.waitFor(() =>
          tb.fromGateway('v1/gateway/connect').find((m) => m.device === device),
        );
        expect(connect).toEqual({ device, type: 'test' });
        const reply = tb.rpc(device, ++rpcId, 'Reset', { type: 'Soft' });
        const call = await cp.nextCall();
        expect(call).toEqual([2, expect.any(String), 'Reset', { type: 'Soft' }]);
        cp.answer(call[1], { status: 'Accepted' });
        expect(await reply).toEqual({ result: { status: 'Accepted' } });
      }
    });
  });

  it('no secret, hash or Authorization header ever reaches the log', () => {
    const forbidden = [
      ...SECRETS,
      sha256(FILE_SECRET),
      ...SECRETS.flatMap((s) =>
        [IDENTITY, 'admin', 'CP_OTHER'].map((u) => Buffer.from(`${u}:${s}`).toString('base64')),
      ),
    ];
    expect(gateway.stdout.length).toBeGreaterThan(0);
    expect(forbidden.filter((s) => gateway.stdout.includes(s) || gateway.stderr.includes(s))).toEqual([]);
    // Each refused handshake above waited for (and claimed) its own log line: 10 in all (and the
    // 2.0.1 station over TLS 1.1, refused after its handshake for want of a common version).
    const refusals = gateway.logs.filter(
      (l) => l.msg.startsWith('charge point refused') && l.reason !== 'no OCPP version in common',
    );
    expect({ logged: refusals.length, claimed: claimed.size }).toEqual({ logged: 10, claimed: 10 });
  });
});

/**
 * Issue 8, configuration that would fail later or stall the gateway is refused at load: TLS
 * material that cannot work (both the charge-point side and the ThingsBoard side), id patterns
 * that cannot be matched in linear time, and database paths that cannot hold SQLite. Each stops
 * `check-config` and start-up with exit 2 naming the file and the problem, never a stack trace.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { CLI, freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { listeningPort } from '../helpers/listening.js';
import { aBootNotification, handshakeStatus, RawChargePoint } from '../helpers/ocpp.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const NO_OPENSSL_NOISE = /error:[0-9A-F]{8}|\n\s+at /;

describe('configuration refused at load (exit 2)', () => {
  const dir = new TempDir();
  let certs: TestCertificates;

  beforeAll(() => {
    certs = makeTestCertificates(dir.path, 'CP_1');
    dir.write('junk.pem', 'this is not a certificate\n');
    execFileSync(
      'openssl',
      ['pkey', '-in', certs.serverRsa.keyFile, '-aes256', '-passout', 'pass:right-pw', '-out', 'enc.key'],
      {
        cwd: dir.path,
        stdio: 'ignore',
      },
    );
  });
  afterAll(() => dir.remove());

  function files(
    connection: Record<string, unknown> | undefined,
    security: Record<string, unknown> | undefined,
    chargePoint: Record<string, unknown> = {},
    storage?: Record<string, unknown>,
  ): string {
    dir.write('ocpp.json', {
      centralSystem: { port: 0, ...(connection ? { connection } : {}) },
      chargePoints: [{ idRegexpPattern: 'CP_1', ...chargePoint }],
    });
    return dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: 1883, ...(security ? { security } : {}) },
      ...(storage ? { storage } : {}),
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
  }

  const tls = (extra: Record<string, unknown>): Record<string, unknown> => ({
    type: 'tls',
    cert: certs.serverRsa.certFile,
    key: certs.serverRsa.keyFile,
    ...extra,
  });

  it.each([
    [
      'a certificate that is not PEM',
      () => tls({ cert: 'junk.pem' }),
      '$.centralSystem.connection.cert',
      'junk.pem" is not a PEM certificate',
    ],
    [
      'a key that does not match the certificate',
      () => tls({ key: certs.serverEcdsa.keyFile }),
      '$.centralSystem.connection.key',
      'does not match the certificate',
    ],
    [
      'an encrypted key and no password',
      () => tls({ key: 'enc.key' }),
      '$.centralSystem.connection.password',
      'enc.key" is encrypted and no password is set',
    ],
    [
      'an encrypted key and a wrong password',
      () => tls({ key: 'enc.key', password: 'wrong-pw' }),
      '$.centralSystem.connection.password',
      'the password does not decrypt the private key in',
    ],
    [
      'a CA file that is not PEM',
      () => tls({ ca: 'junk.pem', requireClientCertificate: true }),
      '$.centralSystem.connection.ca',
      'is not a PEM CA certificate',
    ],
  ])('ocpp.json with %s', async (_what, connection, path, message) => {
    const r = await cli(['check-config', '--config', files(connection(), undefined)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir.path, 'ocpp.json')}: ${path}: `);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_OPENSSL_NOISE);
  });

  it('an encrypted key with the right password is accepted', async () => {
    const r = await cli([
      'check-config',
      '--config',
      files(tls({ key: 'enc.key', password: 'right-pw' }), undefined),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.each([
    [
      'a CA file that is not PEM',
      () => ({ type: 'tlsAccessToken', accessToken: 'T', caCert: 'junk.pem' }),
      '$.thingsboard.security.caCert',
      'is not a PEM CA certificate',
    ],
    [
      'a private key that does not match the certificate',
      () => ({
        type: 'tlsPrivateKey',
        caCert: certs.caFile,
        cert: certs.client.certFile,
        privateKey: certs.serverRsa.keyFile,
      }),
      '$.thingsboard.security.privateKey',
      'does not match the certificate',
    ],
    [
      'an encrypted private key (no password setting exists)',
      () => ({
        type: 'tlsPrivateKey',
        caCert: certs.caFile,
        cert: certs.serverRsa.certFile,
        privateKey: 'enc.key',
      }),
      '$.thingsboard.security.privateKey',
      'is encrypted and no password is set',
    ],
  ])('tb_gateway.json with %s', async (_what, security, path, message) => {
    const r = await cli(['check-config', '--config', files(undefined, security())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir.path, 'tb_gateway.json')}: ${path}: `);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(NO_OPENSSL_NOISE);
  });

  it('start-up refuses bad TLS material the same way (exit 2, not an OpenSSL trace)', async () => {
    const r = await cli(['--config', files(tls({ key: certs.serverEcdsa.keyFile }), undefined)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not match the certificate');
    expect(r.stderr).not.toMatch(NO_OPENSSL_NOISE);
  });

  it.each([
    ['a back-reference', 'cp/(a)\\1'],
    ['a lookahead', 'cp/(?=a)a+'],
  ])('an idRegexpPattern with %s is refused: it cannot be matched in linear time', async (_what, pattern) => {
    const r = await cli([
      'check-config',
      '--config',
      files(undefined, undefined, { idRegexpPattern: pattern }),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('$.chargePoints[0].idRegexpPattern: uses a back-reference or a lookaround');
  });

  it.each([
    ['on /proc', () => '/proc/tb-ocpp-gateway.db', 'is on procfs'],
    ['a device', () => '/dev/null', 'it is a device'],
    [
      'a FIFO',
      () => {
        const fifo = join(dir.path, 'db.fifo');
        execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      'it is a FIFO',
    ],
  ])('a data_file_path %s fails start-up at once with exit 2 and the reason', async (_what, path, reason) => {
    const dbPath = path();
    dir.write('ocpp.json', { centralSystem: { port: 0 }, chargePoints: [{ idRegexpPattern: 'CP_1' }] });
    const config = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: await freePort() },
      storage: { type: 'sqlite', data_file_path: dbPath },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const r = await cli(['--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(dbPath);
    expect(r.stderr).toContain(reason);
  });
});

describe('a pattern that backtracks exponentially', () => {
  it('matches attacker-chosen ids in linear time: the handshake is answered and others are served', async () => {
    const dir = new TempDir();
    dir.write('ocpp.json', {
      centralSystem: { port: 0 },
      chargePoints: [{ idRegexpPattern: 'cp/(a|a)*', deviceNameExpression: '${ChargePointId}' }],
    });
    const config = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: await freePort(), shutdownGracePeriodSeconds: 0 },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const gateway = GatewayProcess.run(config);
    try {
      await gateway.started();
      const base = `ws://127.0.0.1:${await listeningPort(gateway, 'OCPP Connector')}`;
      const cp = await RawChargePoint.open(`${base}/cp/aaa`, ['ocpp1.6']);
      // With a backtracking engine this id takes 2^200 steps: the process would never answer again.
      expect(await handshakeStatus(`${base}/cp/${'a'.repeat(200)}!`, ['ocpp1.6'])).toBe(404);
      cp.send(JSON.stringify([2, 'b', 'BootNotification', aBootNotification()]));
      expect((await cp.answerTo('b'))[0]).toBe(3);
      await cp.shut();
    } finally {
      await gateway.stop();
      dir.remove();
    }
  });
});

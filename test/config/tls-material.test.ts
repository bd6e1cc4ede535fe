/**
 * TLS material in ocpp.json: server certificates as one file or as lists paired by position (an
 * RSA and an ECDSA certificate side by side), each pair checked at load by config/tls.ts (so the
 * messages are its own); the signing CA.
 * Certificates are made with `openssl` once for the file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { selfSignedPair } from '../helpers/certs.js';
import { aGatewayJson, anOcppJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();
type Json = Record<string, unknown>;
type Pair = { cert: string; key: string };
const SECRET = 'key-Pass-4f1d';

let rsa: Pair;
let ec: Pair;
let ec2: Pair;
let encrypted: Pair;
let ca: Pair;
let caOther: Pair;

beforeAll(() => {
  rsa = selfSignedPair('rsa');
  ec = selfSignedPair('ec');
  ec2 = selfSignedPair('ec');
  encrypted = selfSignedPair('ec', { password: SECRET });
  ca = selfSignedPair('ec', { subject: '/CN=Signing CA/O=Acme Charging', ca: true });
  caOther = selfSignedPair('ec', { subject: '/CN=Other CA', ca: true });
});

function files(): Record<string, string> {
  return {
    'rsa.pem': rsa.cert,
    'rsa.key': rsa.key,
    'ec.pem': ec.cert,
    'ec.key': ec.key,
    'ec2.pem': ec2.cert,
    'ec2.key': ec2.key,
    'enc.pem': encrypted.cert,
    'enc.key': encrypted.key,
    'ca.pem': ca.cert,
    'ca.key': ca.key,
    'other-ca.key': caOther.key,
    'junk.pem': 'not a certificate',
  };
}

function load(connection: Json) {
  const dir = configDir();
  for (const [name, content] of Object.entries(files())) dir.write(name, content);
  const file = dir.files(aGatewayJson(), anOcppJson({ centralSystem: { connection } }));
  return { dir, file };
}

describe('server certificates', () => {
  it('accepts lists of files paired by position: an RSA and an ECDSA certificate on one port', () => {
    const { dir, file } = load({ type: 'tls', cert: ['rsa.pem', 'ec.pem'], key: ['rsa.key', 'ec.key'] });
    const tls = loadConfig(file, {}).connectors[0]?.centralSystem.connection;
    expect(tls).toMatchObject({
      type: 'tls',
      cert: [Buffer.from(rsa.cert), Buffer.from(ec.cert)],
      key: [Buffer.from(rsa.key), Buffer.from(ec.key)],
      files: {
        cert: [dir.path('rsa.pem'), dir.path('ec.pem')],
        key: [dir.path('rsa.key'), dir.path('ec.key')],
      },
      certificateCheckIntervalMs: 30_000,
    });
  });

  it('reads an encrypted key with its password', () => {
    const { file } = load({ type: 'tls', cert: 'enc.pem', key: 'enc.key', password: SECRET });
    expect(loadConfig(file, {}).connectors[0]?.centralSystem.connection).toMatchObject({ password: SECRET });
  });

  it.each([
    [
      'a list of certificates with one key',
      { cert: ['rsa.pem', 'ec.pem'], key: 'rsa.key' },
      'key',
      '2 certificate(s) but 1 key(s)',
    ],
    [
      'a key of another certificate',
      { cert: ['rsa.pem', 'ec.pem'], key: ['rsa.key', 'ec2.key'] },
      'key[1]',
      'does not match the certificate',
    ],
    [
      'two certificates of one key type',
      { cert: ['ec.pem', 'ec2.pem'], key: ['ec.key', 'ec2.key'] },
      'cert[1]',
      'a second EC certificate',
    ],
    [
      'a file that is no certificate',
      { cert: 'junk.pem', key: 'ec.key' },
      'cert',
      'is not a PEM certificate',
    ],
    [
      'a missing file in a list',
      { cert: ['rsa.pem', 'nope.pem'], key: ['rsa.key', 'ec.key'] },
      'cert[1]',
      'nope.pem',
    ],
    [
      'an encrypted key without its password',
      { cert: 'enc.pem', key: 'enc.key' },
      'password',
      'is encrypted and no password is set',
    ],
    [
      'an encrypted key in a list, without the password',
      { cert: ['rsa.pem', 'enc.pem'], key: ['rsa.key', 'enc.key'] },
      'password',
      'enc.key" is encrypted and no password is set',
    ],
    [
      'an encrypted key with a wrong password',
      { cert: 'enc.pem', key: 'enc.key', password: 'wrong-Pass-1' },
      'password',
      'the password does not decrypt the private key',
    ],
  ])('%s → a problem at connection.%s', (_what, fields, path, message) => {
    const { dir, file } = load({ type: 'tls', ...fields });
    const result = checkConfig(file, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        file: dir.path('ocpp.json'),
        path: `$.centralSystem.connection.${path}`,
        message: expect.stringContaining(message),
      },
    ]);
    expect(JSON.stringify(result.problems)).not.toContain('wrong-Pass-1');
  });
});

describe('signingCa', () => {
  it('loads on a plain or a TLS connection, with the policy keys and their defaults', () => {
    const signingCa = { cert: 'ca.pem', key: 'ca.key', organization: 'Acme Charging' };
    const { dir, file } = load({ type: 'insecure', signingCa });
    expect(loadConfig(file, {}).connectors[0]?.centralSystem.connection).toEqual({
      type: 'insecure',
      signingCa: {
        certFile: dir.path('ca.pem'),
        cert: Buffer.from(ca.cert),
        key: Buffer.from(ca.key),
        organization: 'Acme Charging',
        validityDays: 365,
      },
    });
    const tls = load({
      type: 'tls',
      cert: 'ec.pem',
      key: 'ec.key',
      signingCa: { cert: 'ca.pem', key: 'ca.key', validityDays: 30 },
    });
    expect(loadConfig(tls.file, {}).connectors[0]?.centralSystem.connection).toMatchObject({
      signingCa: { validityDays: 30 },
    });
  });

  it.each([
    [
      'a certificate that is no CA',
      { cert: 'ec.pem', key: 'ec.key' },
      'signingCa.cert',
      'is not a CA certificate',
    ],
    [
      'the key of another CA',
      { cert: 'ca.pem', key: 'other-ca.key' },
      'signingCa.key',
      'does not match the certificate',
    ],
    [
      'a validity of 0 days',
      { cert: 'ca.pem', key: 'ca.key', validityDays: 0 },
      'signingCa.validityDays',
      'at least 1',
    ],
    [
      'an unknown key',
      { cert: 'ca.pem', key: 'ca.key', organisation: 'x' },
      'signingCa.organisation',
      'did you mean "organization"?',
    ],
  ])('%s → a problem at connection.%s', (_what, signingCa, path, message) => {
    const { dir, file } = load({ type: 'insecure', signingCa });
    const result = checkConfig(file, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        file: dir.path('ocpp.json'),
        path: `$.centralSystem.connection.${path}`,
        message: expect.stringContaining(message),
      },
    ]);
  });
});

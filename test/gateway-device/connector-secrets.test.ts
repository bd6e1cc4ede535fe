/**
 * What remote logs must never carry from a connector's configuration: every token and password,
 * the per-charge-point Basic passwords (read into a Map) and password hashes (a passwords file),
 * the TLS and signing CA passphrases, the HMAC key of hashed idTokens.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { connectorSecrets } from '../../src/gateway-device/services.js';
import { selfSignedPair } from '../helpers/certs.js';
import { aGatewayJson, anOcppJson, useConfigDir } from '../config/fixtures.js';

const configDir = useConfigDir();

describe('connectorSecrets', () => {
  it('lists tokens, Basic credentials, per-charge-point passwords and the key passphrases', () => {
    const dir = configDir();
    const server = selfSignedPair('ec', { password: 'tls-key-pass' });
    const ca = selfSignedPair('ec', { ca: true, subject: '/O=Acme/CN=ca', password: 'ca-key-pass' });
    dir.write('server.pem', server.cert);
    dir.write('server.key', server.key);
    dir.write('ca.pem', ca.cert);
    dir.write('ca.key', ca.key);
    const hash = 'ab'.repeat(32);
    dir.write('passwords.txt', `CP_2:${hash}\n`);
    const ocpp = anOcppJson({
      centralSystem: {
        connection: {
          type: 'tls',
          cert: 'server.pem',
          key: 'server.key',
          password: 'tls-key-pass',
          signingCa: { cert: 'ca.pem', key: 'ca.key', password: 'ca-key-pass' },
        },
        security: [
          { type: 'token', tokens: ['Bearer tok-1'] },
          {
            type: 'basic',
            credentials: [{ username: 'u', password: 'cred-pw' }],
            usernameIsChargePointId: true,
            // A charge point id may be "__proto__": a key like any other.
            passwords: JSON.parse('{"CP_1": "cp1-pw", "__proto__": "proto-pw"}') as unknown,
            passwordsFile: 'passwords.txt',
          },
        ],
      },
      authorization: {
        mode: 'list',
        idTokens: {},
        idTokenInTelemetry: 'hashed',
        idTokenHashKey: 'hmac-key-1',
      },
    });
    const config = loadConfig(dir.files(aGatewayJson(), ocpp), {});
    const connector = config.connectors[0];
    if (!connector) throw new Error('no connector');
    expect(connectorSecrets(connector).sort()).toEqual(
      [
        'Bearer tok-1',
        'ca-key-pass',
        'cp1-pw',
        'cred-pw',
        'proto-pw',
        'tls-key-pass',
        'ab'.repeat(32),
        'hmac-key-1',
      ].sort(),
    );
  });
});

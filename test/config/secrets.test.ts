import { describe, expect, it } from 'vitest';
import { collectSecrets, jsonEqual, redactSecrets, restoreSecrets } from '../../src/config/secrets.js';

const FILE = {
  centralSystem: {
    security: [
      { type: 'token', tokens: ['Bearer A', 'Bearer B'] },
      { type: 'basic', credentials: [{ username: 'admin', password: 'pw1' }], passwords: { CP_1: 'pw2' } },
    ],
    connection: { type: 'tls', cert: 'cert.pem', key: 'key.pem', password: 'pw3' },
  },
};

describe('secrets of configuration published to ThingsBoard', () => {
  it('are replaced by numbered placeholders, nothing else', () => {
    const redacted = redactSecrets(FILE);
    expect(redacted).toEqual({
      centralSystem: {
        security: [
          { type: 'token', tokens: ['<secret:1>', '<secret:2>'] },
          {
            type: 'basic',
            credentials: [{ username: 'admin', password: '<secret:3>' }],
            passwords: { CP_1: '<secret:4>' },
          },
        ],
        connection: { type: 'tls', cert: 'cert.pem', key: 'key.pem', password: '<secret:5>' },
      },
    });
    expect(collectSecrets(FILE)).toEqual(['Bearer A', 'Bearer B', 'pw1', 'pw2', 'pw3']);
  });

  it('come back from placeholders in an edited copy, whatever moved', () => {
    const edited = structuredClone(redactSecrets(FILE));
    // The operator removes the first token and adds one.
    edited.centralSystem.security[0] = { type: 'token', tokens: ['<secret:2>', 'Bearer C'] };
    const restored = restoreSecrets(edited, FILE);
    expect(restored.ok).toBe(true);
    if (!restored.ok) return;
    const doc = restored.doc as typeof FILE;
    expect(doc.centralSystem.security[0]).toEqual({ type: 'token', tokens: ['Bearer B', 'Bearer C'] });
    expect(jsonEqual(restoreSecrets(redactSecrets(FILE), FILE), { ok: true, doc: FILE })).toBe(true);
  });

  it('a placeholder the file has no secret for is refused', () => {
    expect(restoreSecrets({ password: '<secret:9>' }, FILE)).toEqual({ ok: false, unknown: ['<secret:9>'] });
  });

  it('a placeholder moved where no secret belongs is refused: it would come back in clear', () => {
    const edited = structuredClone(redactSecrets(FILE)) as unknown as {
      centralSystem: { connection: Record<string, string> };
    };
    // The key passphrase put in the certificate's path, which is published as it is.
    edited.centralSystem.connection.cert = '<secret:5>';
    expect(restoreSecrets(edited, FILE)).toEqual({ ok: false, unknown: [], misplaced: ['<secret:5>'] });
    expect(restoreSecrets({ chargePoints: [{ '<secret:1>': 'x' }] }, FILE)).toMatchObject({
      ok: false,
      misplaced: ['<secret:1>'],
    });
  });

  it('nothing nested beyond the bound is published', () => {
    let deep: unknown = { password: 'deep-secret' };
    for (let i = 0; i < 80; i++) deep = { next: deep };
    expect(JSON.stringify(redactSecrets(deep))).not.toContain('deep-secret');
  });

  it('"__proto__" stays a key', () => {
    const doc = JSON.parse('{"__proto__":{"password":"x"}}') as unknown;
    expect(JSON.stringify(redactSecrets(doc))).toBe('{"__proto__":{"password":"<secret:1>"}}');
  });

  it('idTokens of ocpp.json are secrets: the keys of the list, groupIds and the hash key', () => {
    const ocpp = {
      authorization: {
        mode: 'list',
        idTokens: { CARD0001: { status: 'Accepted', groupId: 'FLEET01' }, CARD0002: { status: 'Blocked' } },
        idTokenHashKey: 'hmac-key',
      },
    };
    const redacted = redactSecrets(ocpp);
    expect(redacted).toEqual({
      authorization: {
        mode: 'list',
        idTokens: {
          '<secret:1>': { status: 'Accepted', groupId: '<secret:2>' },
          '<secret:3>': { status: 'Blocked' },
        },
        idTokenHashKey: '<secret:4>',
      },
    });
    expect(collectSecrets(ocpp)).toEqual(['CARD0001', 'FLEET01', 'CARD0002', 'hmac-key']);
    // The operator blocks the first card and adds one, in clear.
    const edited = structuredClone(redacted);
    (edited.authorization.idTokens as Record<string, { status: string }>)['<secret:1>']!.status = 'Blocked';
    (edited.authorization.idTokens as Record<string, { status: string }>).CARD0003 = { status: 'Accepted' };
    expect(restoreSecrets(edited, ocpp)).toEqual({
      ok: true,
      doc: {
        authorization: {
          mode: 'list',
          idTokens: {
            CARD0001: { status: 'Blocked', groupId: 'FLEET01' },
            CARD0002: { status: 'Blocked' },
            CARD0003: { status: 'Accepted' },
          },
          idTokenHashKey: 'hmac-key',
        },
      },
    });
  });
});

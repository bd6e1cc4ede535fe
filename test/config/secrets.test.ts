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

  it('"__proto__" stays a key', () => {
    const doc = JSON.parse('{"__proto__":{"password":"x"}}') as unknown;
    expect(JSON.stringify(redactSecrets(doc))).toBe('{"__proto__":{"password":"<secret:1>"}}');
  });
});

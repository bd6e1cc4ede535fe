/** How an idToken is shown outside the gateway, and how a list entry is validated. */
import { describe, expect, it } from 'vitest';
import { IdTokenPresenter, maskIdToken, parseIdTokenList } from '../../src/csms/id-tokens.js';

describe('idToken presentation', () => {
  it.each([
    ['A', '*'],
    ['TAG1', '***1'],
    ['CARD16', '*****6'],
    ['04A1B2C3', '******C3'],
    ['04A1B2C3D4E5F6A7B8', '**************A7B8'],
  ])('%s is masked as %s', (token, masked) => {
    expect(maskIdToken(token)).toBe(masked);
  });

  it('hashes case-insensitively, keyed when a key is set', () => {
    const plain = new IdTokenPresenter('hashed');
    expect(plain.present('abc123')).toBe(plain.present('ABC123'));
    expect(plain.present('ABC123')).toMatch(/^sha256:[0-9a-f]{16}$/);
    const keyed = new IdTokenPresenter('hashed', 'site secret');
    expect(keyed.present('ABC123')).not.toBe(plain.present('ABC123'));
    expect(new IdTokenPresenter('masked').present('ABC123')).toBe('*****3');
  });
});

describe('parseIdTokenList', () => {
  it('keys entries case-insensitively and keeps the token as written', () => {
    const { entries, problems } = parseIdTokenList({ card1: { status: 'Accepted', groupId: 'G' } }, 10);
    expect(problems).toEqual([]);
    expect(entries.get('CARD1')).toEqual({ token: 'card1', entry: { status: 'Accepted', groupId: 'G' } });
  });

  it.each([
    [{ status: 'Maybe' }, 'status: expected one of'],
    [{ status: 'Accepted', expiryDate: 'tomorrow' }, 'expiryDate: expected an RFC 3339'],
    [{ status: 'Accepted', groupId: '' }, 'groupId'],
    [{ status: 'Accepted', colour: 'red' }, 'unknown key "colour"'],
    ['Accepted', 'expected an object'],
  ])('%j is left out with a problem that names no token', (entry, problem) => {
    const { entries, problems } = parseIdTokenList({ SECRET000: entry, OK: { status: 'Blocked' } }, 10);
    expect([...entries.keys()]).toEqual(['OK']);
    expect(problems).toEqual([expect.stringContaining(problem)]);
    expect(problems[0]).toContain('entry 1 (*******00)');
    expect(problems[0]).not.toContain('SECRET000');
  });

  it('stops at the bound and says so', () => {
    const list = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`T${i}`, { status: 'Accepted' }]));
    const { entries, problems } = parseIdTokenList(list, 3);
    expect(entries.size).toBe(3);
    expect(problems).toEqual(['more than 3 entries: the rest are ignored']);
  });

  it('a key like __proto__ is just a token', () => {
    const { entries } = parseIdTokenList(JSON.parse('{"__proto__": {"status": "Blocked"}}'), 10);
    expect(entries.get('__PROTO__')?.entry.status).toBe('Blocked');
  });
});

/**
 * The stored-password admission behind a real CentralSystemServer on 127.0.0.1 (state in a
 * MemoryStateStore): what issue 8 asks of every handshake holds on this path too — several
 * Authorization headers are refused as ambiguous (400), and ids named like members of
 * Object.prototype are ordinary ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SecurityRule } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import type { CentralSystemServer } from '../../src/ocpp/server.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { HandshakeAdmission } from '../../src/security/admission.js';
import { newSecurityCounters } from '../../src/security/counters.js';
import { hashGeneratedPassword, hashPassword } from '../../src/security/passwords.js';
import { SecurityState, type StoredPassword } from '../../src/security/state.js';
import { basicAuth, handshakeStatus, handshakeWithHeaders } from '../helpers/ocpp.js';
import { aCentralSystemConfig, aCentralSystemServer } from '../helpers/ocpp-server.js';

const BASIC: SecurityRule = {
  type: 'basic',
  credentials: [],
  usernameIsChargePointId: true,
  passwords: new Map([
    ['CP_1', 'initial-Secret-1'],
    ['constructor', 'initial-Secret-2'],
  ]),
  passwordHashes: new Map(),
};

const CONFIG = aCentralSystemConfig({ security: [BASIC] });

const ROTATED = 'rotated-Secret-0123456789';

describe('stored-password admission at the handshake', () => {
  let server: CentralSystemServer<true> | undefined;

  async function start(storedFor: string[]): Promise<string> {
    const state = new SecurityState(new MemoryStateStore(), silentLogger());
    const verifiers = [await hashPassword(ROTATED)];
    for (const id of storedFor) {
      await state.updatePassword(id, () => ({ current: verifiers, updatedAt: new Date().toISOString() }));
    }
    const admission = new HandshakeAdmission({ rules: CONFIG.security, state, logger: silentLogger() });
    server = aCentralSystemServer({ config: CONFIG, admit: (request) => admission.admit(request) });
    return `ws://127.0.0.1:${await server.start()}`;
  }

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('refuses several Authorization headers (400) for a station with a stored password, even if one is right', async () => {
    const url = await start(['CP_1']);
    const right = basicAuth('CP_1', ROTATED).authorization as string;
    const wrong = basicAuth('CP_1', 'initial-Secret-1').authorization as string;
    expect(await handshakeWithHeaders(`${url}/CP_1`, [right, wrong])).toBe(400);
    expect(await handshakeWithHeaders(`${url}/CP_1`, [wrong, right])).toBe(400);
    expect(server?.counters).toMatchObject({ rejectedBadRequest: 2, accepted: 0 });
    // One header: the stored password admits, the configured one no longer does.
    expect(await handshakeWithHeaders(`${url}/CP_1`, [right])).toBe(101);
    expect(await handshakeWithHeaders(`${url}/CP_1`, [wrong])).toBe(401);
  });

  it.each(['__proto__', 'constructor', 'toString'])(
    'treats %s as an ordinary charge point id, with or without a stored password',
    async (id) => {
      const url = await start(['__proto__']);
      const stored = id === '__proto__';
      const configured = id === 'constructor';
      expect(await handshakeStatus(`${url}/${id}`, ['ocpp1.6'], basicAuth(id, ROTATED))).toBe(
        stored ? 101 : 401,
      );
      expect(await handshakeStatus(`${url}/${id}`, ['ocpp1.6'], basicAuth(id, 'initial-Secret-2'))).toBe(
        configured ? 101 : 401,
      );
      expect(server?.counters.handshakeErrors).toBe(0);
    },
  );
});

describe('what a stored-password login costs, and what a record change does to it', () => {
  let server: CentralSystemServer<true> | undefined;
  const store = new MemoryStateStore();
  const state = new SecurityState(store, silentLogger());
  const counters = newSecurityCounters();
  let url = '';
  const put = (id: string, record: StoredPassword): Promise<void> => state.updatePassword(id, () => record);
  const login = (id: string, password: string): Promise<number> =>
    handshakeStatus(`${url}/${id}`, ['ocpp1.6'], basicAuth(id, password));
  const costs = (): Record<string, number> => ({
    cached: counters.passwordChecksCached,
    hashed: counters.passwordChecksHashed,
    kdf: counters.passwordChecksKdf,
  });

  async function start(): Promise<void> {
    const admission = new HandshakeAdmission({
      rules: CONFIG.security,
      state,
      logger: silentLogger(),
      counters,
    });
    server = aCentralSystemServer({ config: CONFIG, admit: (request) => admission.admit(request) });
    url = `ws://127.0.0.1:${await server.start()}`;
  }

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    Object.assign(counters, newSecurityCounters());
  });

  it('computes scrypt once per station and verifier; reconnects and wrong passwords cost no KDF', async () => {
    await start();
    const now = new Date().toISOString();
    await put('CP_1', { current: [await hashPassword(ROTATED)], updatedAt: now });
    expect([
      await login('CP_1', ROTATED),
      await login('CP_1', ROTATED),
      await login('CP_1', ROTATED),
    ]).toEqual([101, 101, 101]);
    expect(costs()).toEqual({ cached: 2, hashed: 0, kdf: 1 });
    expect(await login('CP_1', 'wrong-Secret-0123456789')).toBe(401);
    expect(costs()).toEqual({ cached: 3, hashed: 0, kdf: 1 });

    // Another gateway on the same store rotates the password: the next login here sees the new
    // record, so the password this process remembered no longer admits.
    const NEXT = 'next-Secret-0123456789';
    await put('CP_1', { current: [await hashPassword(NEXT)], updatedAt: now });
    expect([await login('CP_1', ROTATED), await login('CP_1', NEXT), await login('CP_1', NEXT)]).toEqual([
      401, 101, 101,
    ]);
    expect(costs()).toEqual({ cached: 4, hashed: 0, kdf: 3 });
  });

  it('checks a generated password with one hash, no KDF', async () => {
    await start();
    await put('CP_G', { current: [hashGeneratedPassword(ROTATED)], updatedAt: '' });
    expect([await login('CP_G', ROTATED), await login('CP_G', 'initial-Secret-1')]).toEqual([101, 401]);
    // The wrong one is refused from what the first login taught (no hash at all).
    expect(costs()).toEqual({ cached: 1, hashed: 1, kdf: 0 });
  });

  it('keeps a password the station applies later (untilUsed) through logins with the old one', async () => {
    await start();
    const LATER = 'later-Secret-0123456789';
    const pending = { verifiers: [hashGeneratedPassword(LATER)], since: '' };
    await put('CP_L', {
      current: [hashGeneratedPassword(ROTATED)],
      pending: { ...pending, untilUsed: true },
      updatedAt: '',
    });
    await put('CP_U', { current: [hashGeneratedPassword(ROTATED)], pending, updatedAt: '' });
    // Staged: the old password does not settle it; the first login with the new one does.
    expect([await login('CP_L', ROTATED), await login('CP_L', ROTATED), await login('CP_L', LATER)]).toEqual([
      101, 101, 101,
    ]);
    expect([await login('CP_L', ROTATED), await login('CP_L', LATER)]).toEqual([401, 101]);
    // Unanswered: the old password's login decides it was not applied.
    expect([await login('CP_U', ROTATED), await login('CP_U', LATER)]).toEqual([101, 401]);
    expect(counters).toMatchObject({ pendingPasswordsConfirmed: 1, pendingPasswordsDropped: 1 });
  });
});

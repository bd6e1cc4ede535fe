/**
 * The stored-password admission behind a real CentralSystemServer on 127.0.0.1 (state in a
 * MemoryStateStore): what issue 8 asks of every handshake holds on this path too — several
 * Authorization headers are refused as ambiguous (400), and ids named like members of
 * Object.prototype are ordinary ids.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { CentralSystemConfig, SecurityRule } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { CentralSystemServer } from '../../src/ocpp/server.js';
import { newProtocolCounters } from '../../src/ocpp/session.js';
import { ValidatorSet } from '../../src/ocpp/validator.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { HandshakeAdmission } from '../../src/security/admission.js';
import { newSecurityCounters } from '../../src/security/counters.js';
import { hashGeneratedPassword, hashPassword } from '../../src/security/passwords.js';
import { SecurityState, type StoredPassword } from '../../src/security/state.js';
import { basicAuth, handshakeStatus } from '../helpers/ocpp.js';

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

const CONFIG: CentralSystemConfig = {
  name: 'test',
  host: '127.0.0.1',
  port: 0,
  connection: { type: 'insecure' },
  security: [BASIC],
  ocppVersions: ['ocpp1.6'],
  heartbeatInterval: 60,
  pingInterval: 0,
  maxMessageSize: 65536,
  compression: false,
  announceUnbootedAfter: 10,
  maxJsonDepth: 64,
  maxSendBufferSize: 1_048_576,
  sendStallTimeoutMs: 30_000,
  maxQueuedCalls: 64,
  maxChargePointIdLength: 255,
};

const ROTATED = 'rotated-Secret-0123456789';

/** The HTTP status of a handshake carrying each of `authorizations` as its own header line. */
function handshakeWithHeaders(url: string, authorizations: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url.replace(/^ws/, 'http'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'ocpp1.6',
        Authorization: authorizations,
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.end();
  });
}

describe('stored-password admission at the handshake', () => {
  let server: CentralSystemServer<true> | undefined;

  async function start(storedFor: string[]): Promise<string> {
    const state = new SecurityState(new MemoryStateStore(), silentLogger());
    const verifiers = [await hashPassword(ROTATED)];
    for (const id of storedFor) {
      await state.updatePassword(id, () => ({ current: verifiers, updatedAt: new Date().toISOString() }));
    }
    const admission = new HandshakeAdmission({ rules: CONFIG.security, state, logger: silentLogger() });
    server = new CentralSystemServer<true>({
      config: CONFIG,
      logger: silentLogger(),
      validators: new ValidatorSet(),
      handler: { handleCall: () => ({}) },
      protocolCounters: newProtocolCounters(),
      resolveChargePoint: () => true,
      onSession: () => undefined,
      admit: (request) => admission.admit(request),
    });
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
    server = new CentralSystemServer<true>({
      config: CONFIG,
      logger: silentLogger(),
      validators: new ValidatorSet(),
      handler: { handleCall: () => ({}) },
      protocolCounters: newProtocolCounters(),
      resolveChargePoint: () => true,
      onSession: () => undefined,
      admit: (request) => admission.admit(request),
    });
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

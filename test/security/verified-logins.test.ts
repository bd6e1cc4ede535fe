/**
 * The in-process memory of verified logins (a reconnect costs an HMAC, not a KDF) and the gate
 * that keeps scrypt checks few at a time and drops those whose handshake stopped waiting.
 */
import { describe, expect, it } from 'vitest';
import { KdfExpired, KdfGate } from '../../src/security/kdf-gate.js';
import { VerifiedLogins } from '../../src/security/verified-logins.js';

const PASSWORD = 'rotated-Secret-0123456789';
const V1 = 'scrypt$16384$8$1$c2FsdDE=$a2V5MQ==';
const V2 = 'scrypt$16384$8$1$c2FsdDI=$a2V5Mg==';

describe('VerifiedLogins', () => {
  it('knows a remembered password for that charge point and verifier only', () => {
    const logins = new VerifiedLogins();
    expect(logins.check('CP_1', V1, PASSWORD)).toBe('unknown');
    logins.remember('CP_1', V1, PASSWORD);
    expect([
      logins.check('CP_1', V1, PASSWORD),
      // Another password cannot match the verifier this one matched: refused without the KDF.
      logins.check('CP_1', V1, `${PASSWORD}x`),
      // The stored record changed (a rotation, here or in another gateway): its verifier is new.
      logins.check('CP_1', V2, PASSWORD),
      logins.check('CP_2', V1, PASSWORD),
      logins.check('__proto__', V1, PASSWORD),
    ]).toEqual(['match', 'mismatch', 'unknown', 'unknown', 'unknown']);
  });

  it('never holds the password, and two processes hold different keyed hashes of it', () => {
    const a = new VerifiedLogins();
    const b = new VerifiedLogins();
    a.remember('CP_1', V1, PASSWORD);
    b.remember('CP_1', V1, PASSWORD);
    const held = (l: VerifiedLogins): string =>
      JSON.stringify([...(l as unknown as { entries: Map<string, string> }).entries]);
    expect(held(a)).not.toContain(PASSWORD);
    expect(held(a)).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    expect(held(a)).not.toBe(held(b));
  });

  it('is bounded: the least recently used entry goes first', () => {
    const logins = new VerifiedLogins(2);
    logins.remember('CP_1', V1, PASSWORD);
    logins.remember('CP_2', V1, PASSWORD);
    expect(logins.check('CP_1', V1, PASSWORD)).toBe('match');
    logins.remember('CP_3', V1, PASSWORD);
    expect(logins.size).toBe(2);
    expect(['CP_1', 'CP_2', 'CP_3'].map((id) => logins.check(id, V1, PASSWORD))).toEqual([
      'match',
      'unknown',
      'match',
    ]);
  });
});

describe('KdfGate', () => {
  /** A check that resolves when the test says so. */
  function deferred(): { check: () => Promise<boolean>; finish: () => void; started: () => boolean } {
    let resolve: ((v: boolean) => void) | undefined;
    let started = false;
    return {
      check: () => {
        started = true;
        return new Promise<boolean>((r) => (resolve = r));
      },
      finish: () => resolve?.(true),
      started: () => started,
    };
  }
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('runs at most `concurrency` checks at once, the others in arrival order', async () => {
    const counters = { passwordChecksKdf: 0, passwordChecksExpired: 0 };
    const gate = new KdfGate({ maxWaitMs: 10_000, concurrency: 2, counters });
    const checks = [deferred(), deferred(), deferred(), deferred()];
    const results = checks.map((c) => gate.run(c.check));
    await tick();
    expect(checks.map((c) => c.started())).toEqual([true, true, false, false]);
    expect(gate.queued).toBe(2);
    checks[1]?.finish();
    await tick();
    expect(checks.map((c) => c.started())).toEqual([true, true, true, false]);
    for (const c of checks) c.finish();
    await tick();
    await tick();
    checks[3]?.finish();
    expect(await Promise.all(results)).toEqual([true, true, true, true]);
    expect(counters).toEqual({ passwordChecksKdf: 4, passwordChecksExpired: 0 });
  });

  it('drops a check that waited longer than a handshake waits, without computing it', async () => {
    let now = 0;
    const counters = { passwordChecksKdf: 0, passwordChecksExpired: 0 };
    const gate = new KdfGate({ maxWaitMs: 10_000, concurrency: 1, counters, now: () => now });
    const first = deferred();
    const late = deferred();
    const running = gate.run(first.check);
    const dropped = gate.run(late.check);
    await tick();
    now = 10_001;
    first.finish();
    await expect(dropped).rejects.toBeInstanceOf(KdfExpired);
    expect(await running).toBe(true);
    expect(late.started()).toBe(false);
    expect(counters).toEqual({ passwordChecksKdf: 1, passwordChecksExpired: 1 });
  });

  it('frees its slot when a check fails', async () => {
    const gate = new KdfGate({ maxWaitMs: 10_000, concurrency: 1 });
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(() => Promise.resolve(true))).toBe(true);
  });
});

/**
 * The handshake admission may wait for the state store; the server bounds how many handshakes
 * wait (more get 503 at once) and for how long (503), and a charge point that gives up while it
 * waits costs nothing. Real sockets on 127.0.0.1, a CentralSystemServer with a controllable admit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthResult } from '../../src/ocpp/auth.js';
import type { CentralSystemServer } from '../../src/ocpp/server.js';
import { handshakeStatus } from '../helpers/ocpp.js';
import { aCentralSystemServer } from '../helpers/ocpp-server.js';

describe('asynchronous handshake admission', () => {
  let server: CentralSystemServer<true> | undefined;
  const waiting: ((r: AuthResult) => void)[] = [];

  async function start(opts: {
    maxPendingAdmissions?: number;
    admissionTimeoutMs?: number;
    admit?: () => AuthResult | Promise<AuthResult>;
  }): Promise<string> {
    server = aCentralSystemServer({
      admit: () => new Promise<AuthResult>((resolve) => waiting.push(resolve)),
      ...opts,
    });
    return `ws://127.0.0.1:${await server.start()}`;
  }

  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise((r) => setTimeout(r, 10));
  };

  afterEach(async () => {
    for (const resolve of waiting.splice(0)) resolve({ ok: false, reason: 'test over' });
    await server?.stop();
    server = undefined;
  });

  it('refuses with 503 beyond maxPendingAdmissions, and decides the waiting ones when the store answers', async () => {
    const url = await start({ maxPendingAdmissions: 2 });
    const first = handshakeStatus(`${url}/CP_1`, ['ocpp1.6']);
    const second = handshakeStatus(`${url}/CP_2`, ['ocpp1.6']);
    await until(() => waiting.length === 2);
    expect(await handshakeStatus(`${url}/CP_3`, ['ocpp1.6'])).toBe(503);
    expect(server?.counters.rejectedBusy).toBe(1);
    waiting[0]?.({ ok: true });
    waiting[1]?.({ ok: false, reason: 'no' });
    expect([await first, await second]).toEqual([101, 401]);
    // Room again once they are decided.
    const fourth = handshakeStatus(`${url}/CP_4`, ['ocpp1.6']);
    await until(() => waiting.length === 3);
    waiting[2]?.({ ok: true });
    expect(await fourth).toBe(101);
  });

  it('refuses with 503 when the decision takes longer than admissionTimeoutMs', async () => {
    const url = await start({ admissionTimeoutMs: 100 });
    expect(await handshakeStatus(`${url}/CP_SLOW`, ['ocpp1.6'])).toBe(503);
    expect(server?.counters.rejectedBusy).toBe(1);
  });

  it('a decision that fails is answered 500 and counted, and the next handshake is served', async () => {
    let calls = 0;
    const url = await start({
      admit: () => (++calls === 1 ? Promise.reject(new Error('store unreachable')) : { ok: true }),
    });
    expect(await handshakeStatus(`${url}/CP_1`, ['ocpp1.6'])).toBe(500);
    expect(server?.counters.handshakeErrors).toBe(1);
    expect(await handshakeStatus(`${url}/CP_1`, ['ocpp1.6'])).toBe(101);
  });

  it('an ambiguous-credentials decision is a 400 (bad request), not a 401, also when it waited', async () => {
    const url = await start({
      admit: () => Promise.resolve({ ok: false, reason: 'several Authorization headers', ambiguous: true }),
    });
    expect(await handshakeStatus(`${url}/CP_1`, ['ocpp1.6'])).toBe(400);
    expect(server?.counters).toMatchObject({ rejectedBadRequest: 1, rejectedAuth: 0 });
  });

  it('an id longer than maxChargePointIdLength is refused before the store is asked', async () => {
    const url = await start({});
    expect(await handshakeStatus(`${url}/${'x'.repeat(256)}`, ['ocpp1.6'])).toBe(400);
    expect(waiting).toHaveLength(0);
    expect(server?.counters.rejectedBadRequest).toBe(1);
  });
});

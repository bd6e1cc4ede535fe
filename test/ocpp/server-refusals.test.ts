/**
 * Every handshake the server answers is counted once, under one result: the address filters (a
 * resolver's refusal) and the asynchronous admission (downgrades, credentials, a store that
 * fails) side by side, on real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthResult } from '../../src/ocpp/auth.js';
import { HandshakeRefusal, type CentralSystemServer, type ServerCounters } from '../../src/ocpp/server.js';
import { handshakeStatus, rawUpgrade } from '../helpers/ocpp.js';
import { aCentralSystemConfig, aCentralSystemServer } from '../helpers/ocpp-server.js';

/** What the admission says for each charge point id (asynchronously, as the store does). */
const DECISIONS = new Map<string, () => Promise<AuthResult>>([
  ['DOWN', () => Promise.resolve({ ok: false, downgrade: true, reason: 'security profile downgrade' })],
  ['BADPW', () => Promise.resolve({ ok: false, reason: 'Basic password not accepted' })],
  [
    'TWOHEADERS',
    () => Promise.resolve({ ok: false, ambiguous: true, reason: 'several Authorization headers' }),
  ],
  ['STOREDOWN', () => Promise.reject(new Error('store unavailable'))],
]);

describe('handshake refusals are counted once each', () => {
  let server: CentralSystemServer<true> | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('one handshake of each kind → one count under its result, and nothing else', async () => {
    let sessions = 0;
    server = aCentralSystemServer({
      config: aCentralSystemConfig({ maxChargePointIdLength: 32 }),
      resolveChargePoint: (id) =>
        id === 'ELSEWHERE'
          ? new HandshakeRefusal('host does not match')
          : id === 'UNKNOWN'
            ? undefined
            : true,
      onSession: () => sessions++,
      admit: ({ chargePointId }) => DECISIONS.get(chargePointId)?.() ?? Promise.resolve({ ok: true }),
    });
    const url = `ws://127.0.0.1:${await server.start()}`;
    const rows: [string, string[], number, keyof ServerCounters][] = [
      ['OK', ['ocpp1.6'], 101, 'accepted'],
      ['UNKNOWN', ['ocpp1.6'], 404, 'rejectedNotFound'],
      ['ELSEWHERE', ['ocpp1.6'], 404, 'rejectedAddress'],
      ['X'.repeat(40), ['ocpp1.6'], 400, 'rejectedBadRequest'],
      ['DOWN', ['ocpp1.6'], 401, 'rejectedDowngrade'],
      ['BADPW', ['ocpp1.6'], 401, 'rejectedAuth'],
      ['TWOHEADERS', ['ocpp1.6'], 400, 'rejectedBadRequest'],
      ['STOREDOWN', ['ocpp1.6'], 500, 'handshakeErrors'],
    ];
    const expected: Partial<Record<keyof ServerCounters, number>> = {};
    for (const [id, protocols, status, counter] of rows) {
      expect([id, await handshakeStatus(`${url}/${id}`, protocols)]).toEqual([id, status]);
      expected[counter] = (expected[counter] ?? 0) + 1;
    }
    // No common version: the handshake completes without a subprotocol, then closes (1002).
    expect(await rawUpgrade(`${url}/NOVERSION`, ['ocpp9'])).toMatchObject({ status: 101, closeCode: 1002 });
    rows.push(['NOVERSION', ['ocpp9'], 101, 'rejectedVersion']);
    expected.rejectedVersion = 1;
    const counted = Object.fromEntries(Object.entries(server.counters).filter(([, n]) => n > 0));
    expect(counted).toEqual(expected);
    expect(Object.values(server.counters).reduce((a, b) => a + b, 0)).toBe(rows.length);
    expect(sessions).toBe(1);
  });
});

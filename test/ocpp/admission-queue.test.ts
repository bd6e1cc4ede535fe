/**
 * The bounded wait for asynchronous admission decisions: each waiting handshake ends in exactly one
 * outcome, and the count of waiting handshakes goes back down whatever the outcome.
 */
import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../../src/ocpp/admission-queue.js';
import type { AuthResult } from '../../src/ocpp/auth.js';

type Outcome =
  { kind: 'decided'; result: AuthResult } | { kind: 'timedOut' } | { kind: 'failed'; err: unknown };

function waitOn(queue: AdmissionQueue, decision: Promise<AuthResult>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  return new Promise((resolve) => {
    const done = (o: Outcome): void => {
      outcomes.push(o);
      // Let a second (wrong) callback show up before the outcomes are read.
      setImmediate(() => resolve(outcomes));
    };
    queue.wait(decision, {
      decided: (result) => done({ kind: 'decided', result }),
      timedOut: () => done({ kind: 'timedOut' }),
      failed: (err) => done({ kind: 'failed', err }),
    });
  });
}

const never = new Promise<AuthResult>(() => undefined);

describe('AdmissionQueue', () => {
  it.each<[string, () => Promise<AuthResult>, Outcome['kind']]>([
    ['a decision', () => Promise.resolve({ ok: true }), 'decided'],
    ['a refusal', () => Promise.resolve({ ok: false, reason: 'no' }), 'decided'],
    ['a failing store', () => Promise.reject(new Error('store down')), 'failed'],
    ['no decision in time', () => never, 'timedOut'],
  ])('%s ends in exactly one outcome and leaves nothing waiting', async (_name, decision, kind) => {
    const queue = new AdmissionQueue(4, 20);
    const outcome = waitOn(queue, decision());
    expect(queue.pending).toBe(1);
    const outcomes = await outcome;
    expect(outcomes.map((o) => o.kind)).toEqual([kind]);
    expect(queue.pending).toBe(0);
  });

  it('is full at its bound and has room again once a decision arrives', async () => {
    const queue = new AdmissionQueue(2, 10_000);
    let decide: (r: AuthResult) => void = () => undefined;
    const first = waitOn(queue, new Promise<AuthResult>((r) => (decide = r)));
    void waitOn(queue, Promise.resolve({ ok: true }));
    expect(queue.full).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(queue.full).toBe(false);
    decide({ ok: true });
    expect((await first).map((o) => o.kind)).toEqual(['decided']);
    expect(queue.pending).toBe(0);
  });
});

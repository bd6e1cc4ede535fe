/**
 * Handshakes waiting for an asynchronous admission decision (stored passwords and recorded
 * security profiles come from the state store). The wait is bounded in number (beyond
 * `maxPending` the server refuses at once) and in time, so a slow store cannot pile up
 * handshakes; a charge point retries a 503 like any failed connection.
 */
import type { AuthResult } from './auth.js';

/** Handshakes that may wait for their decision at once. */
export const DEFAULT_MAX_PENDING_ADMISSIONS = 512;
/** How long one may wait. */
export const DEFAULT_ADMISSION_TIMEOUT_MS = 10_000;

/** What becomes of one waiting handshake; exactly one of these is called. They must not throw. */
export interface AdmissionWaiter {
  decided(result: AuthResult): void;
  /** No decision within the timeout. */
  timedOut(): void;
  /** The decision failed (e.g. the store threw). */
  failed(err: unknown): void;
}

export class AdmissionQueue {
  private waiting = 0;
  private readonly maxPending: number;
  private readonly timeoutMs: number;

  constructor(maxPending = DEFAULT_MAX_PENDING_ADMISSIONS, timeoutMs = DEFAULT_ADMISSION_TIMEOUT_MS) {
    this.maxPending = maxPending;
    this.timeoutMs = timeoutMs;
  }

  /** Handshakes waiting now (a gauge for the status page). */
  get pending(): number {
    return this.waiting;
  }

  /** Checked before the decision is even asked for, so a full queue costs the store nothing. */
  get full(): boolean {
    return this.waiting >= this.maxPending;
  }

  wait(decision: Promise<AuthResult>, waiter: AdmissionWaiter): void {
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    Promise.race([decision, timedOut])
      .then(
        (result) => (result === 'timeout' ? waiter.timedOut() : waiter.decided(result)),
        (err: unknown) => waiter.failed(err),
      )
      .finally(() => {
        clearTimeout(timer);
        this.waiting--;
      });
  }
}

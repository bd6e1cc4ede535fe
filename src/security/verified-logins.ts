/**
 * What the gateway learnt from checking stored passwords, so that a station logging in again with
 * the password it used before costs a keyed hash instead of a KDF: after a network outage every
 * station reconnects at once, and at scrypt's cost 10,000 of them would wait minutes for their
 * admission (docs/performance.md, "storm-rotated").
 *
 * An entry says "this password matched this verifier of this charge point" and holds
 * HMAC-SHA256(process key, password) — never the password, and the key is random per process and
 * never leaves it. The verifier is the stored one (the state store stays the only truth): when a
 * station's record changes, here or in another gateway sharing the store, its new verifiers miss
 * and are checked the slow way once; entries of replaced verifiers can never match a record again
 * and age out. Bounded (least recently used first out); only successes are remembered, so wrong
 * passwords cannot fill it.
 *
 * The trade: someone who can read this process's memory can test guesses against a cached entry at
 * HMAC speed instead of scrypt speed. Such a reader also sees passwords as they arrive in Basic
 * headers, so the KDF protects the store on disk, which this leaves as it was.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Verified (charge point, verifier) pairs kept; ≈ 200 bytes each (a gateway holds < 20,000 connections). */
export const DEFAULT_MAX_VERIFIED_LOGINS = 32_768;

export type LoginCheck = 'match' | 'mismatch' | 'unknown';

export class VerifiedLogins {
  private readonly key = randomBytes(32);
  /** `<charge point id>\n<verifier>` → base64 HMAC of the password that matched it. */
  private readonly entries = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(maxEntries = DEFAULT_MAX_VERIFIED_LOGINS) {
    this.maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * `match` / `mismatch`: known without the KDF (a password other than the one that matched the
   * verifier cannot match it too); `unknown`: the verifier must be computed.
   */
  check(chargePointId: string, verifier: string, password: string): LoginCheck {
    const entryKey = `${chargePointId}\n${verifier}`;
    const known = this.entries.get(entryKey);
    if (known === undefined) return 'unknown';
    if (!timingSafeEqual(Buffer.from(known, 'base64'), this.mac(password))) return 'mismatch';
    // Most recently used last, so that eviction takes the longest unused.
    this.entries.delete(entryKey);
    this.entries.set(entryKey, known);
    return 'match';
  }

  remember(chargePointId: string, verifier: string, password: string): void {
    const entryKey = `${chargePointId}\n${verifier}`;
    this.entries.delete(entryKey);
    this.entries.set(entryKey, this.mac(password).toString('base64'));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  private mac(password: string): Buffer {
    return createHmac('sha256', this.key).update(password, 'utf8').digest();
  }
}

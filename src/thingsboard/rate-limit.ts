/**
 * Token buckets for ThingsBoard's rate limits. ThingsBoard (transport `DefaultTransportRateLimitService`,
 * bucket4j `Bandwidth.simple`/`refillGreedy`) keeps, per limit string `"capacity:seconds,…"`, one
 * bucket per window that starts full and refills continuously at capacity/seconds; a message passes
 * only if every window has the tokens, otherwise ThingsBoard closes the MQTT connection.
 *
 * Ours mirror them at a safety share (80 %, as the Python SDK) of every window, so ours empty
 * before ThingsBoard's can. Two differences make that hold whatever ThingsBoard's buckets hold:
 * ours start empty (ThingsBoard keeps its buckets per gateway device across sessions and process
 * restarts, so a fresh gateway process cannot know they are full), and a send may leave a bucket
 * negative (a debt repaid before the next send) rather than being refused.
 */
import type { RateLimitWindow } from '../config/types.js';

/** The share of every ThingsBoard window the gateway uses (the Python SDK's default, 80 %). */
export const SAFETY_SHARE = 0.8;

class Bucket {
  readonly capacity: number;
  readonly periodMs: number;
  tokens: number;
  private last: number;

  constructor(capacity: number, periodMs: number, now: number, tokens: number) {
    this.capacity = capacity;
    this.periodMs = periodMs;
    this.tokens = Math.min(capacity, tokens);
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(
        this.capacity,
        this.tokens + ((now - this.last) * this.capacity) / this.periodMs,
      );
      this.last = now;
    }
  }

  /** Milliseconds until `n` tokens are there (0: now). */
  waitFor(n: number, now: number): number {
    this.refill(now);
    // A send may never need more than a full bucket (pack.ts cuts publishes to fit).
    const need = Math.min(n, this.capacity);
    if (this.tokens >= need) return 0;
    return Math.ceil(((need - this.tokens) * this.periodMs) / this.capacity);
  }

  take(n: number, now: number): void {
    this.refill(now);
    this.tokens -= n;
  }
}

/** One limit (e.g. telemetry datapoints of the devices behind the gateway): one bucket per window. */
export class RateLimit {
  readonly windows: readonly RateLimitWindow[];
  private readonly buckets: Bucket[];

  /**
   * `windows` as ThingsBoard states them; each is used at `share` of its capacity (at least 1).
   * `previous` hands over what a bucket of the same window still holds (a new session, same limits).
   */
  constructor(windows: readonly RateLimitWindow[], share: number, now: number, previous?: RateLimit) {
    this.windows = windows;
    this.buckets = windows.map((w) => {
      const capacity = Math.max(1, Math.floor(w.capacity * share));
      const periodMs = w.seconds * 1000;
      const before = previous?.buckets.find((b) => b.periodMs === periodMs && b.capacity === capacity);
      return new Bucket(capacity, periodMs, now, before ? before.tokens : 0);
    });
  }

  /** The most one send may carry: the smallest (shared) capacity. */
  get maxPerSend(): number {
    return Math.min(...this.buckets.map((b) => b.capacity));
  }

  waitFor(n: number, now: number): number {
    if (n <= 0) return 0;
    let wait = 0;
    for (const b of this.buckets) wait = Math.max(wait, b.waitFor(n, now));
    return wait;
  }

  take(n: number, now: number): void {
    if (n <= 0) return;
    for (const b of this.buckets) b.take(n, now);
  }

  /** `"8:1,240:60"`: the windows in force, at the share used. */
  describe(): string {
    return this.buckets.map((b) => `${b.capacity}:${b.periodMs / 1000}`).join(',');
  }
}

/** `"10:1,300:60"` → windows (for logs and the status page). */
export function formatWindows(windows: readonly RateLimitWindow[]): string {
  return windows.map((w) => `${w.capacity}:${w.seconds}`).join(',');
}

/**
 * Slow password checks (scrypt) run a few at a time, in arrival order, and one that has waited so
 * long that it could not finish before its handshake stops waiting (the admission timeout) is
 * dropped without being computed: the station gets 503 and retries. Without this, every check of
 * a reconnect storm is handed to libuv's thread pool at once (4 threads, shared with zlib and file
 * I/O), the handshakes that time out keep their checks queued there, and each retry adds another:
 * the work outgrows what the cores can do and nothing is admitted any more.
 */
import { availableParallelism } from 'node:os';

/**
 * scrypt checks at once: one per core, at most libuv's 4 pool threads (more would only queue
 * there, behind zlib and file work).
 */
export const DEFAULT_KDF_CONCURRENCY = Math.max(1, Math.min(4, availableParallelism()));

export class KdfExpired extends Error {
  readonly code = 'KDF_EXPIRED';
  constructor(waitedMs: number) {
    super(`password check dropped: it waited ${waitedMs} ms, longer than a handshake waits for it`);
    this.name = 'KdfExpired';
  }
}

export interface KdfGateOptions {
  /** How long a check may wait for its turn (the admission timeout). */
  maxWaitMs: number;
  concurrency?: number;
  now?: () => number;
  /** Counted here: checks computed, and checks dropped after waiting too long. */
  counters?: { passwordChecksKdf: number; passwordChecksExpired: number };
}

interface Waiting {
  since: number;
  start(): void;
  expire(waitedMs: number): void;
}

export class KdfGate {
  private readonly opts: KdfGateOptions;
  private readonly concurrency: number;
  private running = 0;
  /** Bounded by the handshakes that may wait for an admission (AdmissionQueue). */
  private readonly waiting: Waiting[] = [];

  constructor(opts: KdfGateOptions) {
    this.opts = opts;
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_KDF_CONCURRENCY);
  }

  /** Checks waiting for their turn now. */
  get queued(): number {
    return this.waiting.length;
  }

  run<T>(check: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        if (this.opts.counters) this.opts.counters.passwordChecksKdf++;
        Promise.resolve()
          .then(check)
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      if (this.running < this.concurrency) {
        start();
        return;
      }
      this.waiting.push({
        since: this.now(),
        start,
        expire: (waitedMs) => {
          if (this.opts.counters) this.opts.counters.passwordChecksExpired++;
          reject(new KdfExpired(waitedMs));
        },
      });
    });
  }

  private next(): void {
    while (this.running < this.concurrency) {
      const w = this.waiting.shift();
      if (!w) return;
      const waited = this.now() - w.since;
      if (waited > this.opts.maxWaitMs) w.expire(waited);
      else w.start();
    }
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

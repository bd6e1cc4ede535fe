/**
 * Whether storage is taking writes, for /readyz: the outbox as the connector sees it, with the
 * outcome of the latest append remembered. A failed group commit (disk full, file gone read-only)
 * makes the gateway "not ready" until a write lands again: an append, or any commit of the outbox
 * (the removals of a backlog draining to ThingsBoard) — so readiness comes back by itself, even
 * when no charge point sends anything (a probe-gated load balancer would send none). A store that
 * keeps its own account (SQLite: `writeProblem`) is asked instead.
 */
import { describeWriteFailure } from './write-failures.js';
import type { NewRecord, Outbox, StoredRecord } from './types.js';

export class WriteHealthOutbox implements Outbox {
  private readonly inner: Outbox;
  private lastOkAt = 0;
  private failure: { message: string; at: number; commits: number } | undefined;

  constructor(inner: Outbox) {
    this.inner = inner;
  }

  /** Undefined while writes succeed; else the last failure, in words. */
  get writeError(): string | undefined {
    // The store's own account where it has one: it also knows of new records refused for want of
    // disk while removals still commit, and checks every few seconds whether writes work again.
    if (this.inner.writeProblem) return this.inner.writeProblem();
    const f = this.failure;
    if (f === undefined || f.at < this.lastOkAt || this.inner.counters.commits > f.commits) return undefined;
    return f.message;
  }

  /** Age of the oldest record held, seconds (0 when empty). */
  oldestAgeSeconds(now = Date.now()): number {
    let oldest: StoredRecord | undefined;
    try {
      oldest = this.inner.readBatch(0, 1)[0];
    } catch {
      return 0; // closed (stopping): nothing to report
    }
    return oldest === undefined ? 0 : Math.max(0, (now - oldest.createdAt) / 1000);
  }

  get counters() {
    return this.inner.counters;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  append(records: readonly NewRecord[]): Promise<void> {
    return this.inner.append(records).then(
      () => {
        this.lastOkAt = Date.now();
      },
      (err: unknown) => {
        this.failure = { message: inWords(err), at: Date.now(), commits: this.inner.counters.commits };
        throw err;
      },
    );
  }

  readBatch(afterId: number, limit: number): StoredRecord[] {
    return this.inner.readBatch(afterId, limit);
  }

  removeRange(fromId: number, toId: number): void {
    this.inner.removeRange(fromId, toId);
  }

  size(): number {
    return this.inner.size();
  }

  onAppend(listener: () => void): void {
    this.inner.onAppend(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** `the disk is full (…): commit to … failed: …` — the cause in words first, then what failed. */
function inWords(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause !== undefined ? describeWriteFailure(err.cause) : undefined;
  return cause === undefined || message.includes(cause) ? message : `${cause}: ${message}`;
}

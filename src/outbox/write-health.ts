/**
 * Whether storage is taking writes, for /readyz: the outbox as the connector sees it, with the
 * outcome of the latest append remembered. A failed group commit (disk full, file gone read-only)
 * makes the gateway "not ready" until an append succeeds again.
 */
import type { NewRecord, Outbox, StoredRecord } from './types.js';

export class WriteHealthOutbox implements Outbox {
  private readonly inner: Outbox;
  private lastOkAt = 0;
  private failure: { message: string; at: number } | undefined;

  constructor(inner: Outbox) {
    this.inner = inner;
  }

  /** Undefined while writes succeed; else the last failure's message. */
  get writeError(): string | undefined {
    return this.failure !== undefined && this.failure.at >= this.lastOkAt ? this.failure.message : undefined;
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
        this.failure = { message: err instanceof Error ? err.message : String(err), at: Date.now() };
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

import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from '../../src/outbox/memory.js';
import { WriteHealthOutbox } from '../../src/outbox/write-health.js';
import { aTelemetryRecord, capturingLogger } from './helpers.js';

/** A memory outbox with its own account of write problems, as the SQLite one keeps. */
class AccountingOutbox extends MemoryOutbox {
  refusal: string | undefined;
  writeProblem(): string | undefined {
    return this.refusal;
  }
}

describe('write health (/readyz storage check)', () => {
  it("takes the store's own account: not healthy while new records are refused, even when other commits land", async () => {
    const inner = new AccountingOutbox({ maxRecordsCount: 10, logger: capturingLogger().logger });
    const outbox = new WriteHealthOutbox(inner);
    await outbox.open();
    await outbox.append([aTelemetryRecord()]);
    expect(outbox.writeError).toBeUndefined();
    inner.refusal = 'less than 16 MB free on the disk holding the database';
    inner.counters.commits += 5; // removals of a draining backlog
    expect(outbox.writeError).toBe('less than 16 MB free on the disk holding the database');
    inner.refusal = undefined;
    expect(outbox.writeError).toBeUndefined();
    await outbox.close();
  });
});

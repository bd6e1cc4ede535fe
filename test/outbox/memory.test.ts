import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { MemoryOutbox, MemoryStateStore } from '../../src/outbox/memory.js';
import { numberOf, numberedRecords } from './helpers.js';

describe('MemoryOutbox', () => {
  it('stays correct through compaction while the publisher removes from the front', async () => {
    const outbox = new MemoryOutbox({ maxRecordsCount: 100_000, logger: silentLogger() });
    let next = 0;
    let expectedFirst = 0;
    for (let round = 0; round < 20; round++) {
      await outbox.append(numberedRecords(700, next));
      next += 700;
      const batch = outbox.readBatch(0, 500);
      expect(numberOf(batch[0] as { body: string })).toBe(expectedFirst);
      outbox.removeRange(batch[0]?.id as number, batch.at(-1)?.id as number);
      expectedFirst += 500;
    }
    expect(outbox.size()).toBe(next - expectedFirst);
    const rest = outbox.readBatch(0, 100_000);
    expect(rest.map(numberOf)).toEqual(
      Array.from({ length: next - expectedFirst }, (_, i) => expectedFirst + i),
    );
    await outbox.close();
  });

  it('drops the oldest through compaction on sustained overflow', async () => {
    const outbox = new MemoryOutbox({ maxRecordsCount: 1000, logger: silentLogger() });
    for (let n = 0; n < 5000; n++) await outbox.append(numberedRecords(1, n));
    expect(outbox.size()).toBe(1000);
    expect(outbox.readBatch(0, 1)[0] && numberOf(outbox.readBatch(0, 1)[0] as { body: string })).toBe(4000);
    expect(outbox.counters.droppedOverflow).toBe(4000);
    await outbox.close();
  });

  it('copies appended records, so later changes by the caller do not leak in', async () => {
    const outbox = new MemoryOutbox({ maxRecordsCount: 10, logger: silentLogger() });
    const records = numberedRecords(1);
    await outbox.append(records);
    (records[0] as { body: string }).body = '{"n":99}';
    expect(numberOf(outbox.readBatch(0, 1)[0] as { body: string })).toBe(0);
    await outbox.close();
  });
});

describe('MemoryStateStore', () => {
  it('starts transaction ids at the seconds since 2020-01-01 and increments', () => {
    const now = Date.UTC(2025, 5, 1, 12, 0, 0, 999);
    const state = new MemoryStateStore({ now: () => now });
    const start = Math.floor((now - Date.UTC(2020, 0, 1)) / 1000);
    expect(state.nextTransactionId()).toBe(start);
    expect(state.nextTransactionId()).toBe(start + 1);
    expect(start).toBeLessThan(2 ** 31);
  });

  it('never hands out 0', () => {
    const state = new MemoryStateStore({ now: () => Date.UTC(2020, 0, 1) });
    expect(state.nextTransactionId()).toBe(1);
  });

  it('keeps devices for the life of the process', async () => {
    const state = new MemoryStateStore();
    await state.open();
    state.saveDevice('CP-1', { name: 'Charger 1', type: 'default' });
    const devices = state.loadDevices();
    devices.clear(); // a copy: the caller cannot empty the store
    expect(state.loadDevices().get('CP-1')).toEqual({ name: 'Charger 1', type: 'default' });
    await state.close();
  });
});

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { MemoryOutbox } from '../../src/outbox/memory.js';
import { SqliteDatabase, SqliteOutbox } from '../../src/outbox/sqlite.js';
import type { Outbox } from '../../src/outbox/types.js';
import { capturingLogger, manualClock, numberOf, numberedRecords, tempDirs } from './helpers.js';

interface OutboxOptions {
  maxRecordsCount?: number;
  logger?: Logger;
  now?: () => number;
}

const dirs = tempDirs();
const opened: Outbox[] = [];

const implementations: { name: string; create: (opts: OutboxOptions) => Outbox }[] = [
  {
    name: 'MemoryOutbox',
    create: (o) =>
      new MemoryOutbox({
        maxRecordsCount: o.maxRecordsCount ?? 100_000,
        logger: o.logger ?? silentLogger(),
        now: o.now,
      }),
  },
  {
    name: 'SqliteOutbox',
    create: (o) => {
      const logger = o.logger ?? silentLogger();
      const database = new SqliteDatabase({ dataFilePath: join(dirs.make(), 'outbox.db'), logger });
      return new SqliteOutbox({
        database,
        maxRecordsCount: o.maxRecordsCount ?? 100_000,
        logger,
        now: o.now,
      });
    },
  },
];

afterEach(async () => {
  for (const outbox of opened.splice(0)) await outbox.close();
  dirs.cleanup();
});

describe.each(implementations)('$name (Outbox contract)', ({ create }) => {
  async function openOutbox(opts: OutboxOptions = {}): Promise<Outbox> {
    const outbox = create(opts);
    opened.push(outbox);
    await outbox.open();
    return outbox;
  }

  it('keeps records in append order with strictly increasing ids', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(3, 0));
    await outbox.append(numberedRecords(2, 3));
    await outbox.append([{ kind: 'connect', device: 'CP-2', body: '{"type":"default"}' }]);

    const all = outbox.readBatch(0, 100);
    expect(all.slice(0, 5).map(numberOf)).toEqual([0, 1, 2, 3, 4]);
    expect(all[5]).toMatchObject({ kind: 'connect', device: 'CP-2', body: '{"type":"default"}' });
    const ids = all.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(6);
    expect(ids[0]).toBeGreaterThanOrEqual(1);
  });

  it('stamps createdAt from the clock', async () => {
    const clock = manualClock();
    const outbox = await openOutbox({ now: clock.now });
    await outbox.append(numberedRecords(1));
    expect(outbox.readBatch(0, 1)[0]?.createdAt).toBe(clock.now());
  });

  it('pages with afterId and limit', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(10));

    const first = outbox.readBatch(0, 4);
    expect(first.map(numberOf)).toEqual([0, 1, 2, 3]);
    const second = outbox.readBatch(first[3]?.id ?? -1, 4);
    expect(second.map(numberOf)).toEqual([4, 5, 6, 7]);
    const third = outbox.readBatch(second[3]?.id ?? -1, 4);
    expect(third.map(numberOf)).toEqual([8, 9]);
    expect(outbox.readBatch(third[1]?.id ?? -1, 4)).toEqual([]);
    expect(outbox.readBatch(0, 0)).toEqual([]);
  });

  it('removes inclusive ranges, including ranges with gaps and beyond the end', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(10));
    const id = outbox.readBatch(0, 10).map((r) => r.id);
    const at = (i: number): number => id[i] as number;

    outbox.removeRange(at(3), at(5));
    expect(outbox.readBatch(0, 100).map(numberOf)).toEqual([0, 1, 2, 6, 7, 8, 9]);
    expect(outbox.size()).toBe(7);

    // 3..5 are already gone: only 0, 1, 2 and 6 are removed.
    outbox.removeRange(at(0), at(6));
    expect(outbox.readBatch(0, 100).map(numberOf)).toEqual([7, 8, 9]);
    expect(outbox.size()).toBe(3);

    outbox.removeRange(at(8), at(9) + 1000);
    outbox.removeRange(at(9), at(8)); // empty range
    outbox.removeRange(at(0), at(2)); // nothing left there
    expect(outbox.readBatch(0, 100).map(numberOf)).toEqual([7]);
    expect(outbox.readBatch(at(2), 1).map(numberOf)).toEqual([7]);
    expect(outbox.size()).toBe(1);
    expect(outbox.counters.removed).toBe(9);

    await outbox.append(numberedRecords(1, 10));
    expect(outbox.size()).toBe(2);
  });

  it('pages past removals in the middle', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(10));
    const id = outbox.readBatch(0, 10).map((r) => r.id as number);
    outbox.removeRange(id[1] as number, id[2] as number);
    outbox.removeRange(id[5] as number, id[5] as number);
    expect(outbox.readBatch(0, 3).map(numberOf)).toEqual([0, 3, 4]);
    expect(outbox.readBatch(id[3] as number, 3).map(numberOf)).toEqual([4, 6, 7]);
  });

  it('never reuses an id, even after everything was removed', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(3));
    const lastId = outbox.readBatch(0, 3)[2]?.id ?? Infinity;
    outbox.removeRange(0, lastId);
    expect(outbox.size()).toBe(0);
    await outbox.append(numberedRecords(1, 3));
    expect(outbox.readBatch(0, 10)[0]?.id).toBeGreaterThan(lastId);
  });

  it('counts size and appends', async () => {
    const outbox = await openOutbox();
    expect(outbox.size()).toBe(0);
    await outbox.append(numberedRecords(4));
    await outbox.append([]);
    expect(outbox.size()).toBe(4);
    expect(outbox.counters.appended).toBe(4);
  });

  it('calls onAppend listeners once the new records are readable', async () => {
    const outbox = await openOutbox();
    const seen: number[] = [];
    outbox.onAppend(() => seen.push(outbox.readBatch(0, 100).length));
    await outbox.append(numberedRecords(2));
    expect(seen).toEqual([2]);
    await Promise.all([outbox.append(numberedRecords(1, 2)), outbox.append(numberedRecords(1, 3))]);
    // Memory calls once per append; sqlite once per commit, which may hold both appends.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.slice(1).every((n) => n >= 3)).toBe(true);
    expect(seen.at(-1)).toBe(4);
  });

  it('keeps appending when a listener throws', async () => {
    const outbox = await openOutbox();
    outbox.onAppend(() => {
      throw new Error('listener bug');
    });
    await expect(outbox.append(numberedRecords(1))).resolves.toBeUndefined();
    expect(outbox.size()).toBe(1);
  });

  it('drops the oldest records on overflow, counts them, and keeps the newest', async () => {
    const outbox = await openOutbox({ maxRecordsCount: 5 });
    for (let i = 0; i < 8; i++) await outbox.append(numberedRecords(1, i));
    expect(outbox.size()).toBe(5);
    expect(outbox.readBatch(0, 100).map(numberOf)).toEqual([3, 4, 5, 6, 7]);
    expect(outbox.counters.droppedOverflow).toBe(3);
    expect(outbox.counters.appended).toBe(8);

    await outbox.append(numberedRecords(7, 8)); // one append larger than the whole outbox
    expect(outbox.readBatch(0, 100).map(numberOf)).toEqual([10, 11, 12, 13, 14]);
    expect(outbox.counters.droppedOverflow).toBe(10);
  });

  it('warns about overflow at most once a minute, with the drops of that minute', async () => {
    const clock = manualClock();
    const { logger, warnings } = capturingLogger();
    const outbox = await openOutbox({ maxRecordsCount: 2, logger, now: clock.now });

    await outbox.append(numberedRecords(3));
    expect(warnings()).toEqual([
      'outbox full (max_records_count=2): dropped 1 oldest records in the last minute (total 1)',
    ]);
    clock.advance(10_000);
    await outbox.append(numberedRecords(2));
    clock.advance(20_000);
    await outbox.append(numberedRecords(1));
    expect(warnings()).toHaveLength(1);

    clock.advance(31_000);
    await outbox.append(numberedRecords(1));
    expect(warnings()).toEqual([
      'outbox full (max_records_count=2): dropped 1 oldest records in the last minute (total 1)',
      'outbox full (max_records_count=2): dropped 4 oldest records in the last minute (total 5)',
    ]);
    expect(outbox.counters.droppedOverflow).toBe(5);

    // Drops that no later drop reports are reported at close rather than lost.
    clock.advance(1_000);
    await outbox.append(numberedRecords(1));
    expect(warnings()).toHaveLength(2);
    await outbox.close();
    expect(warnings()[2]).toBe(
      'outbox full (max_records_count=2): dropped 1 oldest records in the last minute (total 6)',
    );
  });

  it('rejects appends after close, and close is idempotent', async () => {
    const outbox = await openOutbox();
    await outbox.append(numberedRecords(1));
    await outbox.close();
    await outbox.close();
    await expect(outbox.append(numberedRecords(1))).rejects.toMatchObject({
      code: ErrorCodes.OUTBOX_STOPPED,
    });
  });
});

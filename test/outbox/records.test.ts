import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { SqliteDatabase, SqliteStateStore } from '../../src/outbox/sqlite.js';
import { prefixUpperBound } from '../../src/outbox/sqlite-state.js';
import type { StateStore } from '../../src/outbox/types.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
const toClose: StateStore[] = [];

afterEach(async () => {
  for (const s of toClose.splice(0)) await s.close();
  dirs.cleanup();
});

function sqliteStore(file: string): SqliteStateStore {
  const logger = silentLogger();
  const store = new SqliteStateStore({
    database: new SqliteDatabase({ dataFilePath: file, logger }),
    logger,
  });
  toClose.push(store);
  return store;
}

const stores: [string, () => StateStore][] = [
  ['memory', () => new MemoryStateStore()],
  ['sqlite', () => sqliteStore(join(dirs.make(), 'gateway.db'))],
];

describe.each(stores)('RecordStore contract (%s)', (_name, make) => {
  it('stores, replaces, lists by prefix and deletes records, per namespace', async () => {
    const store = make();
    await store.open();
    await store.putRecord('transactions', 'CP-1/1', { id: 7, energyWh: 10 });
    await store.putRecord('transactions', 'CP-1/2', { id: 8 });
    await store.putRecord('transactions', 'CP-10/1', { id: 9 });
    await store.putRecord('passwords', 'CP-1', 'hash');
    await store.putRecord('transactions', 'CP-1/1', { id: 7, energyWh: 25 });

    expect(await store.getRecord('transactions', 'CP-1/1')).toEqual({ id: 7, energyWh: 25 });
    expect(await store.getRecord('passwords', 'CP-1')).toBe('hash');
    expect(await store.getRecord('passwords', 'CP-2')).toBeUndefined();
    expect([...(await store.listRecords('transactions', 'CP-1/')).entries()]).toEqual([
      ['CP-1/1', { id: 7, energyWh: 25 }],
      ['CP-1/2', { id: 8 }],
    ]);
    expect((await store.listRecords('transactions')).size).toBe(3);

    await store.deleteRecord('transactions', 'CP-1/2');
    await store.deleteRecord('transactions', 'nothing-there');
    expect(await store.getRecord('transactions', 'CP-1/2')).toBeUndefined();
    expect([...(await store.listRecords('transactions')).keys()]).toEqual(['CP-1/1', 'CP-10/1']);
  });

  it('hands out copies: changing a value after put or after get changes nothing stored', async () => {
    const store = make();
    await store.open();
    const value = { list: [1, 2] };
    await store.putRecord('ns', 'k', value);
    value.list.push(3);
    const read = (await store.getRecord('ns', 'k')) as { list: number[] };
    read.list.push(4);
    expect(await store.getRecord('ns', 'k')).toEqual({ list: [1, 2] });
  });

  it('takes names an attacker may choose as plain keys', async () => {
    const store = make();
    await store.open();
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(await store.getRecord('passwords', key)).toBeUndefined();
      await store.putRecord('passwords', key, `v-${key}`);
      expect(await store.getRecord('passwords', key)).toBe(`v-${key}`);
    }
    expect((await store.listRecords('passwords')).size).toBe(4);
  });

  it('refuses a value JSON cannot hold', async () => {
    const store = make();
    await store.open();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(store.putRecord('ns', 'k', cyclic)).rejects.toThrow(/not JSON-serialisable/);
    await expect(store.putRecord('ns', 'k', undefined)).rejects.toThrow(/not JSON-serialisable/);
    expect(await store.getRecord('ns', 'k')).toBeUndefined();
  });
});

describe('SqliteStateStore records', () => {
  it('survive a reopen, and a write is readable before its commit lands', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const first = sqliteStore(file);
    await first.open();
    const written = first.putRecord('transactions', 'CP-1/1', { id: 1 });
    void first.putRecord('transactions', 'CP-1/2', { id: 2 });
    // Queued for the group commit, yet already what this process knows.
    expect(await first.getRecord('transactions', 'CP-1/1')).toEqual({ id: 1 });
    await written;
    await first.deleteRecord('transactions', 'CP-1/2');
    await first.close();

    const second = sqliteStore(file);
    await second.open();
    expect([...(await second.listRecords('transactions')).entries()]).toEqual([['CP-1/1', { id: 1 }]]);
  });

  it('tells the writer when its commit fails, and the failed write is not visible', async () => {
    const logger = silentLogger();
    // A database capped at 64 KiB: a 256 KiB record cannot be committed (SQLITE_FULL).
    const database = new SqliteDatabase({
      dataFilePath: join(dirs.make(), 'gateway.db'),
      logger,
      maxDatabaseSizeBytes: 65_536,
    });
    const store = new SqliteStateStore({ database, logger });
    toClose.push(store);
    await store.open();
    await store.putRecord('ns', 'kept', 1);
    await expect(store.putRecord('ns', 'lost', 'x'.repeat(262_144))).rejects.toThrow(/commit to .* failed/);
    expect(await store.getRecord('ns', 'lost')).toBeUndefined();
    expect(await store.getRecord('ns', 'kept')).toBe(1);
    await store.putRecord('ns', 'after', 3);
    expect(await store.getRecord('ns', 'after')).toBe(3);
  });
});

describe('prefix bounds of SQLite record listing', () => {
  it.each([
    ['CP-1/', 'CP-10'],
    ['a', 'b'],
    ['é', 'ê'],
    ['x\u{1F600}', 'x\u{1F601}'],
    ['\uD7FF', '\uE000'],
  ])('every text starting with %j sorts below %j', (prefix, upper) => {
    expect(prefixUpperBound(prefix)).toBe(upper);
  });

  it('has no bound for an empty prefix or one ending in the last code point', () => {
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('a\u{10FFFF}')).toBeUndefined();
  });

  it('lists exactly the keys with the prefix, also next to keys that sort right after it', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const store = sqliteStore(file);
    await store.open();
    const keys = ['CP-1', 'CP-1/1', 'CP-1/\u{10FFFF}', 'CP-10/1', 'CP-1\u0000', 'CP-2/1', 'CP-0/9'];
    for (const key of keys) await store.putRecord('transactions', key, key);
    await store.close();
    // Reopened: the rows come from the table (through the range), not from the queued writes.
    const again = sqliteStore(file);
    await again.open();
    expect([...(await again.listRecords('transactions', 'CP-1/')).keys()]).toEqual([
      'CP-1/1',
      'CP-1/\u{10FFFF}',
    ]);
    expect([...(await again.listRecords('transactions', 'CP-1')).keys()]).toEqual(
      ['CP-1', 'CP-1/1', 'CP-1/\u{10FFFF}', 'CP-10/1', 'CP-1\u0000'].sort(),
    );
    expect((await again.listRecords('transactions')).size).toBe(keys.length);
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { SqliteDatabase, SqliteOutbox, SqliteStateStore } from '../../src/outbox/sqlite.js';
import { numberedRecords, tempDirs } from './helpers.js';

const dirs = tempDirs();
const toClose: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
  dirs.cleanup();
});

function aStateStore(dataFilePath: string, database?: SqliteDatabase): SqliteStateStore {
  const logger = silentLogger();
  const state = new SqliteStateStore({
    database: database ?? new SqliteDatabase({ dataFilePath, logger }),
    logger,
  });
  toClose.push(state);
  return state;
}

function readMeta(file: string, key: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key);
  } finally {
    db.close();
  }
}

describe('SqliteStateStore', () => {
  it('remembers devices across reopen, the latest save winning', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const first = aStateStore(file);
    await first.open();
    expect(first.loadDevices()).toEqual(new Map());
    first.saveDevice('CP-1', { name: 'Charger 1', type: 'default' });
    first.saveDevice('CP-2', { name: 'Charger 2', type: 'wallbox' });
    first.saveDevice('CP-1', { name: 'Charger One', type: 'default' });
    // Not committed yet, but already part of what this process knows.
    expect(first.loadDevices().get('CP-1')).toEqual({ name: 'Charger One', type: 'default' });
    await first.close();

    const second = aStateStore(file);
    await second.open();
    expect(second.loadDevices()).toEqual(
      new Map([
        ['CP-1', { name: 'Charger One', type: 'default' }],
        ['CP-2', { name: 'Charger 2', type: 'wallbox' }],
      ]),
    );
  });

  it('hands out strictly increasing transaction ids from 1, reserving blocks of 1000', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const state = aStateStore(file);
    await state.open();
    const ids = Array.from({ length: 2500 }, () => state.nextTransactionId());
    expect(ids[0]).toBe(1);
    expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number))).toBe(true);
    expect(readMeta(file, 'last_reserved_transaction_id')).toBe(3000);
  });

  it('continues above every id handed out before a restart', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const first = aStateStore(file);
    await first.open();
    let last = 0;
    for (let i = 0; i < 10; i++) last = first.nextTransactionId();
    await first.close();

    const second = aStateStore(file);
    await second.open();
    const next = second.nextTransactionId();
    expect(next).toBeGreaterThan(last);
    expect(next).toBe(1001); // the unused rest of the first block is skipped
  });

  it('refuses use before open', () => {
    const state = aStateStore(join(dirs.make(), 'gateway.db'));
    expect(() => state.nextTransactionId()).toThrow(StorageError);
  });
});

describe('SqliteOutbox and SqliteStateStore sharing one file', () => {
  it.each([
    ['outbox first', true],
    ['state store first', false],
  ])('commit together and close the file after both closed (%s)', async (_name, outboxFirst) => {
    const file = join(dirs.make(), 'gateway.db');
    const logger = silentLogger();
    const database = new SqliteDatabase({ dataFilePath: file, logger });
    const outbox = new SqliteOutbox({ database, maxRecordsCount: 1000, logger });
    toClose.push(outbox);
    const state = aStateStore(file, database);
    await Promise.all([outbox.open(), state.open()]);

    state.saveDevice('CP-1', { name: 'Charger 1', type: 'default' });
    await outbox.append(numberedRecords(2));
    expect(database.commits).toBe(1);
    expect(outbox.counters.commits).toBe(1);

    const [firstToClose, secondToClose] = outboxFirst ? [outbox, state] : [state, outbox];
    await firstToClose.close();
    // The other one keeps working on the still-open file.
    if (outboxFirst) expect(state.nextTransactionId()).toBe(1);
    else await outbox.append(numberedRecords(1, 2));
    expect(existsSync(`${file}-wal`)).toBe(true);
    await secondToClose.close();
    expect(existsSync(`${file}-wal`)).toBe(false);

    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM devices').pluck().get()).toBe(1);
    expect(db.prepare('SELECT COUNT(*) FROM outbox').pluck().get()).toBe(outboxFirst ? 2 : 3);
    db.close();
  });
});

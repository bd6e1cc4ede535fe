import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import { SqliteDatabase, SqliteOutbox, type SqliteDatabaseOptions } from '../../src/outbox/sqlite.js';
import { capturingLogger, manualClock, numberOf, numberedRecords, tempDirs } from './helpers.js';

const dirs = tempDirs();
const toClose: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
  dirs.cleanup();
});

interface Options extends Partial<SqliteDatabaseOptions> {
  maxRecordsCount?: number;
  messagesTtlInDays?: number;
  now?: () => number;
  logger?: Logger;
}

function anOutbox(dataFilePath: string, o: Options = {}): { outbox: SqliteOutbox; database: SqliteDatabase } {
  const logger = o.logger ?? silentLogger();
  const database = new SqliteDatabase({ ...o, dataFilePath, logger });
  const outbox = new SqliteOutbox({
    database,
    logger,
    maxRecordsCount: o.maxRecordsCount ?? 1_000_000,
    messagesTtlInDays: o.messagesTtlInDays,
    now: o.now,
  });
  toClose.push(outbox);
  return { outbox, database };
}

async function openOutbox(dataFilePath: string, o: Options = {}): Promise<SqliteOutbox> {
  const { outbox } = anOutbox(dataFilePath, o);
  await outbox.open();
  return outbox;
}

describe('SqliteOutbox persistence', () => {
  it('keeps records, removals and the id sequence across close and reopen', async () => {
    const file = join(dirs.make(), 'nested', 'folders', 'outbox.db');
    const first = await openOutbox(file);
    await first.append(numberedRecords(100));
    const ids = first.readBatch(0, 100).map((r) => r.id);
    first.removeRange(ids[0] as number, ids[9] as number);
    await first.close(); // the removal is still pending here: close must commit it

    expect(existsSync(`${file}-wal`)).toBe(false);
    const second = await openOutbox(file);
    expect(second.size()).toBe(90);
    const again = second.readBatch(0, 1000);
    expect(again.map(numberOf)).toEqual(Array.from({ length: 90 }, (_, i) => i + 10));
    expect(again[0]?.createdAt).toBeGreaterThan(0);
    await second.append(numberedRecords(1, 100));
    expect(second.readBatch(0, 1000).at(-1)?.id).toBeGreaterThan(ids[99] as number);
  });

  it('makes records readable only once their commit is done', async () => {
    const outbox = await openOutbox(join(dirs.make(), 'outbox.db'));
    const appended = outbox.append(numberedRecords(3));
    expect(outbox.readBatch(0, 10)).toEqual([]);
    expect(outbox.size()).toBe(0);
    await appended;
    expect(outbox.readBatch(0, 10)).toHaveLength(3);
  });
});

describe('SqliteOutbox group commit', () => {
  it('commits 10,000 separate appends in far fewer transactions, resolving every one', async () => {
    const outbox = await openOutbox(join(dirs.make(), 'outbox.db'));
    const appends: Promise<void>[] = [];
    for (let n = 0; n < 10_000; n++) appends.push(outbox.append(numberedRecords(1, n)));
    await Promise.all(appends);

    expect(outbox.counters.appended).toBe(10_000);
    expect(outbox.counters.commits).toBeLessThan(100);
    expect(outbox.size()).toBe(10_000);
    const all = outbox.readBatch(0, 20_000);
    expect(all.map(numberOf)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('commits a lone append after commitIntervalMs', async () => {
    const outbox = await openOutbox(join(dirs.make(), 'outbox.db'), { commitIntervalMs: 5 });
    const started = performance.now();
    await outbox.append(numberedRecords(1));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(outbox.counters.commits).toBe(1);
  });

  it('commits at once when maxBatch records are pending', async () => {
    const outbox = await openOutbox(join(dirs.make(), 'outbox.db'), {
      maxBatch: 10,
      commitIntervalMs: 60_000,
    });
    const appended = outbox.append(numberedRecords(10));
    expect(outbox.counters.commits).toBe(1);
    await appended;
  });

  it('rejects every append of a failed commit with StorageError, keeps pending removals, and recovers', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const outbox = await openOutbox(file);
    await outbox.append(numberedRecords(5));
    const firstId = outbox.readBatch(0, 1)[0]?.id as number;

    // Another connection plants a trigger that fails one specific insert, like a full disk would.
    const saboteur = new Database(file);
    saboteur.exec(
      `CREATE TRIGGER fail_boom BEFORE INSERT ON outbox WHEN NEW.body = '"boom"' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
    );
    outbox.removeRange(firstId, firstId + 1);
    const good = outbox.append(numberedRecords(1, 5));
    const bad = outbox.append([{ kind: 'attributes', device: 'CP-1', body: '"boom"' }]);
    await expect(good).rejects.toBeInstanceOf(StorageError);
    await expect(bad).rejects.toThrow(/boom/);
    expect(outbox.size()).toBe(3);
    expect(outbox.readBatch(0, 10).map(numberOf)).toEqual([2, 3, 4]);

    saboteur.exec('DROP TRIGGER fail_boom');
    saboteur.close();
    await outbox.append(numberedRecords(1, 6));
    await outbox.close();
    const reopened = await openOutbox(file);
    expect(reopened.readBatch(0, 10).map(numberOf)).toEqual([2, 3, 4, 6]);
  });
});

describe('SqliteOutbox open errors', () => {
  async function openError(file: string): Promise<StorageError> {
    const { outbox } = anOutbox(file);
    const error: unknown = await outbox.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }

  it('names the path of a file that is not a database', async () => {
    const file = join(dirs.make(), 'outbox.db');
    writeFileSync(file, randomBytes(8192));
    const error = await openError(file);
    expect(error.message).toContain(file);
    expect(error.message).toContain('file is not a database');
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
  });

  it('names the path when its folder cannot be created (a regular file is in the way)', async () => {
    const blocker = join(dirs.make(), 'not-a-folder');
    writeFileSync(blocker, 'x');
    const file = join(blocker, 'data', 'outbox.db');
    const error = await openError(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/cannot create the folder/);
  });

  it('names the path when it is a folder', async () => {
    const folder = join(dirs.make(), 'outbox.db');
    mkdirSync(folder);
    expect((await openError(folder)).message).toContain(folder);
  });

  it('names the path when the folder is read-only', async (ctx) => {
    const folder = join(dirs.make(), 'read-only');
    mkdirSync(folder);
    chmodSync(folder, 0o500);
    try {
      try {
        accessSync(folder, constants.W_OK);
        // Still writable: running as root, which ignores the mode bits.
        ctx.skip();
      } catch {
        // Not writable, as intended.
      }
      const file = join(folder, 'outbox.db');
      expect((await openError(file)).message).toContain(file);
    } finally {
      chmodSync(folder, 0o700);
    }
  });

  it('fails when quick_check reports damage', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const db = new Database(file);
    db.exec("CREATE TABLE t (a TEXT NOT NULL); INSERT INTO t VALUES ('ZZZZZZZZ')");
    db.close();
    // Turn the record's serial type for the 8-char text (0x1d) into NULL behind SQLite's back.
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from([0x1d, ...Buffer.from('ZZZZZZZZ')]));
    expect(at).toBeGreaterThan(0);
    bytes[at] = 0;
    writeFileSync(file, bytes);
    const error = await openError(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/damaged \(quick_check: /);
  });

  it('fails when a b-tree page is garbage', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (a TEXT)');
    db.exec(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) ' +
        'INSERT INTO t SELECT hex(randomblob(200)) FROM n',
    );
    db.close();
    // Garbage over a b-tree page in the middle of the file, past the header and the schema page.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 20);
    closeSync(fd);
    const error = await openError(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/malformed|damaged/);
  });
});

describe('SqliteOutbox TTL', () => {
  it('drops records older than messagesTtlInDays at open, counted and logged', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const clock = manualClock();
    const writer = await openOutbox(file, { now: clock.now });
    await writer.append(numberedRecords(3));
    clock.advance(2 * 86_400_000);
    await writer.append(numberedRecords(2, 3));
    await writer.close();

    clock.advance(3_600_000);
    const { logger, warnings } = capturingLogger();
    const reader = await openOutbox(file, { now: clock.now, messagesTtlInDays: 1, logger });
    expect(reader.readBatch(0, 10).map(numberOf)).toEqual([3, 4]);
    expect(reader.size()).toBe(2);
    expect(reader.counters.droppedExpired).toBe(3);
    expect(warnings()).toEqual(['outbox: dropped 3 records older than messages_ttl_in_days=1 (total 3)']);
  });

  it('drops expired records hourly while open', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const clock = manualClock();
      const outbox = await openOutbox(join(dirs.make(), 'outbox.db'), {
        now: clock.now,
        messagesTtlInDays: 1,
      });
      await outbox.append(numberedRecords(2));
      clock.advance(86_400_000 - 1_000);
      await outbox.append(numberedRecords(1, 2));
      clock.advance(2_000);
      vi.advanceTimersByTime(3_600_000);
      expect(outbox.readBatch(0, 10).map(numberOf)).toEqual([2]);
      expect(outbox.counters.droppedExpired).toBe(2);
      expect(outbox.size()).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps everything when messagesTtlInDays is 0', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const clock = manualClock();
    const writer = await openOutbox(file, { now: clock.now });
    await writer.append(numberedRecords(3));
    await writer.close();
    clock.advance(400 * 86_400_000);
    const reader = await openOutbox(file, { now: clock.now, messagesTtlInDays: 0 });
    expect(reader.size()).toBe(3);
  });
});

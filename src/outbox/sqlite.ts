import type Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { Logger } from '../log.js';
import { IdRanges } from './id-ranges.js';
import { OverflowWarning } from './overflow-warning.js';
import { messageOf, type GroupCommitParticipant, type SqliteDatabase } from './sqlite-db.js';
import { stoppedError } from './stopped.js';
import {
  emptyOutboxCounters,
  type NewRecord,
  type Outbox,
  type OutboxCounters,
  type StoredRecord,
} from './types.js';

export { SqliteDatabase, type SqliteDatabaseOptions, type SynchronousMode } from './sqlite-db.js';
export { SqliteStateStore, type SqliteStateStoreOptions } from './sqlite-state.js';

export interface SqliteOutboxOptions {
  /** Shared with the SqliteStateStore; opened by whichever opens first. */
  database: SqliteDatabase;
  /** Most records held; a commit that would exceed it deletes the oldest. */
  maxRecordsCount: number;
  /** Records older than this are deleted at open and then hourly. 0 (default) = never. */
  messagesTtlInDays?: number;
  logger: Logger;
  /** Clock for `created_at`, TTL expiry and the overflow warning (tests inject one). */
  now?: () => number;
}

const DAY_MS = 86_400_000;
const EXPIRY_INTERVAL_MS = 3_600_000;

interface Statements {
  read: Database.Statement<[number, number], StoredRecord>;
  count: Database.Statement<[number, number], number>;
  countAll: Database.Statement<[], number>;
  insert: Database.Statement<[string, string, string, number]>;
  deleteRange: Database.Statement<[number, number]>;
  dropOldest: Database.Statement<[number]>;
  deleteExpired: Database.Statement<[number]>;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface PendingRecord extends NewRecord {
  createdAt: number;
}

/** What one group commit took from the outbox, and what it did. */
interface InFlight {
  records: PendingRecord[];
  done: Deferred | undefined;
  removing: boolean;
  expiring: boolean;
  removed: number;
  expired: number;
  dropped: number;
  rowsAfter: number;
}

/**
 * The outbox for `storage.type = "sqlite"`. Appends and removals ride the database's group commit;
 * an append resolves, and its records become readable, only once their transaction committed.
 * A removal is visible at once (readBatch skips it, size excludes it) and reaches the file with
 * the next commit.
 */
export class SqliteOutbox implements Outbox, GroupCommitParticipant {
  readonly counters: OutboxCounters = emptyOutboxCounters();
  private readonly db: SqliteDatabase;
  private readonly maxRecordsCount: number;
  private readonly ttlMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly overflow: OverflowWarning;
  private readonly listeners: (() => void)[] = [];
  private state: 'new' | 'open' | 'closed' = 'new';
  private st: Statements | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Rows in the committed table. */
  private rows = 0;
  /** Rows in the committed table that pendingRemovals covers; size() excludes them. */
  private rowsBeingRemoved = 0;
  private readonly pendingRemovals = new IdRanges();
  private pendingRecords: PendingRecord[] = [];
  private pendingDone: Deferred | undefined;
  private expiryDue = false;
  private inFlight: InFlight | undefined;

  constructor(opts: SqliteOutboxOptions) {
    this.db = opts.database;
    this.maxRecordsCount = opts.maxRecordsCount;
    this.ttlMs = (opts.messagesTtlInDays ?? 0) * DAY_MS;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.overflow = new OverflowWarning({
      logger: opts.logger,
      maxRecordsCount: opts.maxRecordsCount,
      now: this.now,
    });
  }

  async open(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw stoppedError('closed');
    const handle = this.db.acquire(this);
    try {
      this.st = this.prepare(handle);
      this.rows = this.st.countAll.get() ?? 0;
    } catch (err) {
      this.db.release(this);
      throw new StorageError(`cannot use the outbox table of ${this.db.dataFilePath}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    this.state = 'open';
    if (this.ttlMs > 0) {
      this.expire();
      this.expiryTimer = setInterval(() => this.expire(), EXPIRY_INTERVAL_MS);
      this.expiryTimer.unref();
    }
  }

  append(records: readonly NewRecord[]): Promise<void> {
    if (this.state !== 'open')
      return Promise.reject(stoppedError(this.state === 'new' ? 'not open' : 'closed'));
    if (records.length === 0) return Promise.resolve();
    const createdAt = this.now();
    for (const r of records) {
      this.pendingRecords.push({ kind: r.kind, device: r.device, body: r.body, createdAt });
    }
    // One promise per commit, shared by every append in it: 10k appends cost 20 promises, not 10k.
    const done = (this.pendingDone ??= deferred());
    this.db.noteWrites(records.length);
    return done.promise;
  }

  readBatch(afterId: number, limit: number): StoredRecord[] {
    const st = this.statements();
    if (limit <= 0) return [];
    if (this.pendingRemovals.isEmpty) return st.read.all(afterId, limit);
    const out: StoredRecord[] = [];
    let cursor = afterId;
    for (;;) {
      cursor = this.pendingRemovals.skip(cursor);
      const want = limit - out.length;
      const rows = st.read.all(cursor, want);
      for (const row of rows) if (!this.pendingRemovals.has(row.id)) out.push(row);
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < want || out.length >= limit) return out;
      cursor = last.id;
    }
  }

  removeRange(fromId: number, toId: number): void {
    const st = this.statements();
    if (fromId > toId) return;
    // Counting the rows (an index range scan the size of the acknowledged batch) keeps size() exact
    // without waiting for the commit.
    let count = 0;
    for (const piece of this.pendingRemovals.add(fromId, toId))
      count += st.count.get(piece.from, piece.to) ?? 0;
    this.rowsBeingRemoved += count;
    this.counters.removed += count;
    this.db.noteWrites(1);
  }

  size(): number {
    return this.rows - this.rowsBeingRemoved;
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.db.release(this);
    this.st = undefined;
    this.overflow.close();
  }

  takePending(): boolean {
    const removing = !this.pendingRemovals.isEmpty;
    if (this.pendingRecords.length === 0 && !removing && !this.expiryDue) return false;
    this.inFlight = {
      records: this.pendingRecords,
      done: this.pendingDone,
      removing,
      expiring: this.expiryDue,
      removed: 0,
      expired: 0,
      dropped: 0,
      rowsAfter: this.rows,
    };
    this.pendingRecords = [];
    this.pendingDone = undefined;
    this.expiryDue = false;
    return true;
  }

  write(): void {
    const st = this.statements();
    const f = this.inFlight as InFlight;
    // Removals first, so that rows already acknowledged do not count towards the overflow.
    if (f.removing) {
      for (const r of this.pendingRemovals.ranges()) f.removed += st.deleteRange.run(r.from, r.to).changes;
    }
    if (f.expiring) f.expired = st.deleteExpired.run(this.now() - this.ttlMs).changes;
    for (const r of f.records) st.insert.run(r.kind, r.device, r.body, r.createdAt);
    let rows = this.rows - f.removed - f.expired + f.records.length;
    const excess = rows - this.maxRecordsCount;
    if (excess > 0) {
      f.dropped = st.dropOldest.run(excess).changes;
      rows -= f.dropped;
    }
    f.rowsAfter = rows;
  }

  committed(): void {
    const f = this.inFlight as InFlight;
    this.inFlight = undefined;
    this.rows = f.rowsAfter;
    if (f.removing) {
      // Nothing can be added between takePending and here (better-sqlite3 is synchronous), so
      // every pending removal was in this commit.
      this.pendingRemovals.clear();
      this.rowsBeingRemoved = 0;
    }
    const c = this.counters;
    c.commits++;
    c.appended += f.records.length;
    if (f.expired > 0) {
      c.droppedExpired += f.expired;
      this.logger.warn(
        { droppedExpired: f.expired, droppedExpiredTotal: c.droppedExpired },
        `outbox: dropped ${f.expired} records older than messages_ttl_in_days=${this.ttlMs / DAY_MS} (total ${c.droppedExpired})`,
      );
    }
    if (f.dropped > 0) {
      c.droppedOverflow += f.dropped;
      this.overflow.dropped(f.dropped, c.droppedOverflow);
    }
    f.done?.resolve();
    if (f.records.length > 0) this.notifyListeners();
  }

  writeProblem(): string | undefined {
    return this.db.writeProblem;
  }

  hasGrowth(): boolean {
    return this.pendingRecords.length > 0;
  }

  refuseGrowth(error: StorageError): void {
    if (this.pendingRecords.length === 0) return;
    // Never stored, so never acknowledged: each charge point gets InternalError and sends again.
    const done = this.pendingDone;
    this.pendingRecords = [];
    this.pendingDone = undefined;
    this.counters.failedCommits++;
    done?.reject(error);
  }

  rolledBack(error: StorageError): void {
    const f = this.inFlight as InFlight;
    this.inFlight = undefined;
    // The records are lost and their appenders told so; removals stay pending and ride the next
    // commit (deleting twice is harmless), as does the expiry.
    if (f.expiring) this.expiryDue = true;
    this.counters.failedCommits++;
    f.done?.reject(error);
  }

  private expire(): void {
    if (this.state !== 'open') return;
    this.expiryDue = true;
    this.db.flush();
  }

  private prepare(handle: Database.Database): Statements {
    return {
      read: handle.prepare(
        'SELECT id, kind, device, body, created_at AS createdAt FROM outbox WHERE id > ? ORDER BY id LIMIT ?',
      ),
      count: handle
        .prepare<[number, number], number>('SELECT COUNT(*) FROM outbox WHERE id BETWEEN ? AND ?')
        .pluck(),
      countAll: handle.prepare<[], number>('SELECT COUNT(*) FROM outbox').pluck(),
      insert: handle.prepare('INSERT INTO outbox (kind, device, body, created_at) VALUES (?, ?, ?, ?)'),
      deleteRange: handle.prepare('DELETE FROM outbox WHERE id BETWEEN ? AND ?'),
      dropOldest: handle.prepare(
        'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)',
      ),
      // A full scan, once an hour: an index on created_at would cost every insert instead.
      deleteExpired: handle.prepare('DELETE FROM outbox WHERE created_at < ?'),
    };
  }

  private statements(): Statements {
    if (this.st === undefined) throw stoppedError(this.state === 'new' ? 'not open' : 'closed');
    return this.st;
  }

  private notifyListeners(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        // A failing listener must not make the commit look failed: the records are stored.
        this.logger.error({ err }, 'outbox onAppend listener threw');
      }
    }
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { Logger } from '../log.js';
import { SpaceGuard } from './space-guard.js';
import { SCHEMA_SQL } from './sqlite-schema.js';
import { checkHostable } from './sqlite-path.js';
import { WriteFailures } from './write-failures.js';

/**
 * `normal`: in WAL mode a commit is in the WAL file when it returns, so it survives a crash or kill
 * of the process; an OS crash or power loss may roll back the last commits (never corrupts).
 * `full`: the WAL is fsynced on every commit, so commits also survive power loss — at the price of
 * one fsync per group commit.
 */
export type SynchronousMode = 'normal' | 'full';

export interface SqliteDatabaseOptions {
  /** The database file; its folder is created when missing. */
  dataFilePath: string;
  logger: Logger;
  /** Default `normal`. */
  synchronous?: SynchronousMode;
  /** Pending writes that trigger a commit at once. Default 512. */
  maxBatch?: number;
  /** Longest a pending write waits for its commit, milliseconds. Default 2. */
  commitIntervalMs?: number;
  /**
   * Largest the database file may grow (storage.max_database_size_mb); past it writes fail as on a
   * full disk. Undefined = as large as the disk allows.
   */
  maxDatabaseSizeBytes?: number;
  /**
   * storage.min_free_disk_space_mb in bytes: below it new outbox records are refused so that the
   * outbox can still drain (see space-guard.ts). Undefined or 0 = no such bound.
   */
  minFreeDiskBytes?: number;
}

/**
 * After each checkpoint the WAL file is cut back to this size (SQLite otherwise keeps its largest
 * size for ever, space a nearly full disk needs back); it is about the auto-checkpoint threshold.
 */
const JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;
/** Size of the write that checks, while writes fail, whether they work again: more than a page. */
const PROBE_BYTES = 8192;

/** One user of the group commit (the outbox, the state store): queues writes, then takes part in a commit. */
export interface GroupCommitParticipant {
  /** Moves what is queued into the commit about to start; false when there is nothing. */
  takePending(): boolean;
  /** Runs inside the transaction: writes what takePending took. */
  write(): void;
  committed(): void;
  /** The transaction rolled back; what was taken is not in the database. */
  rolledBack(error: StorageError): void;
  /** Whether what is queued would grow the database (new outbox records, not removals). */
  hasGrowth?(): boolean;
  /** The disk is nearly full: what would grow the database is refused with `error`, the rest stays. */
  refuseGrowth?(error: StorageError): void;
}

/**
 * The one database file shared by SqliteOutbox and SqliteStateStore, and its group commit: their
 * writes are queued in memory and written together in one transaction per flush, so the cost of a
 * commit (the WAL write, and with `full` the fsync) is paid once per batch instead of once per
 * meter reading. The handle is opened by the first participant and closed when the last leaves.
 */
export class SqliteDatabase {
  readonly dataFilePath: string;
  private readonly logger: Logger;
  private readonly synchronous: SynchronousMode;
  private readonly maxBatch: number;
  private readonly commitIntervalMs: number;
  private handle: Database.Database | undefined;
  private commitAll: ((participants: GroupCommitParticipant[]) => void) | undefined;
  private readonly participants: GroupCommitParticipant[] = [];
  private pendingWrites = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private flushAgain = false;
  private commitCount = 0;
  private readonly maxDatabaseSizeBytes: number | undefined;
  private readonly minFreeDiskBytes: number;
  private guard: SpaceGuard | undefined;
  /** The space guard's latest verdict (checked at each commit with new records, and every retry). */
  private shortage: string | undefined;
  private readonly failures: WriteFailures;

  constructor(opts: SqliteDatabaseOptions) {
    this.dataFilePath = opts.dataFilePath;
    this.logger = opts.logger;
    this.synchronous = opts.synchronous ?? 'normal';
    this.maxBatch = opts.maxBatch ?? 512;
    this.commitIntervalMs = opts.commitIntervalMs ?? 2;
    this.maxDatabaseSizeBytes = opts.maxDatabaseSizeBytes;
    this.minFreeDiskBytes = opts.minFreeDiskBytes ?? 0;
    this.failures = new WriteFailures({
      logger: opts.logger,
      dataFilePath: opts.dataFilePath,
      retry: () => this.recover(),
    });
  }

  /**
   * Why writes fail now, in words (new records refused for want of disk, or commits failing);
   * undefined once a commit landed again, or the check every 5 s while failing found room.
   */
  get writeProblem(): string | undefined {
    if (!this.failures.failing) return undefined;
    return this.shortage ?? this.failures.lastReason;
  }

  /** Commits that failed (disk full, I/O error) since start. */
  get failedCommits(): number {
    return this.failures.failed;
  }

  /** Transactions committed (all participants together). */
  get commits(): number {
    return this.commitCount;
  }

  /** Opens the database on first use and registers the participant; throws StorageError. */
  acquire(participant: GroupCommitParticipant): Database.Database {
    if (this.handle === undefined) {
      this.handle = this.openHandle();
      this.guard = this.spaceGuard(this.handle);
      this.commitAll = this.handle.transaction((participants: GroupCommitParticipant[]) => {
        for (const p of participants) p.write();
      });
    }
    if (!this.participants.includes(participant)) this.participants.push(participant);
    return this.handle;
  }

  /** Commits what is pending, unregisters the participant, and closes the file after the last one. */
  release(participant: GroupCommitParticipant): void {
    const index = this.participants.indexOf(participant);
    if (index < 0) return;
    this.flush();
    this.participants.splice(index, 1);
    if (this.participants.length > 0 || this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    this.commitAll = undefined;
    this.guard = undefined;
    this.cancelTimer();
    this.failures.close();
    try {
      // Folds the WAL back into the database so that the file is complete on its own when copied.
      handle.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.logger.warn({ err, dataFilePath: this.dataFilePath }, 'sqlite checkpoint at close failed');
    }
    handle.close();
  }

  /**
   * A participant queued `count` writes. The first pending write starts the commit timer, so a
   * lone write waits at most commitIntervalMs; a full batch commits at once. The timer is not
   * unref'd: a write whose caller awaits its commit must keep the process alive until it lands.
   */
  noteWrites(count: number): void {
    this.pendingWrites += count;
    if (this.pendingWrites >= this.maxBatch) this.flush();
    else if (this.timer === undefined && this.handle !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.commitIntervalMs);
    }
  }

  /** Writes everything pending in one transaction, now. Errors go to the participants, not the caller. */
  flush(): void {
    if (this.flushing) {
      // Called from a participant's committed() (a listener appending a full batch): loop instead
      // of nesting, so that one commit's callbacks finish before the next commit takes anything.
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.flushAgain = false;
        this.cancelTimer();
        this.pendingWrites = 0;
        if (this.commitAll === undefined) return;
        this.refuseGrowthIfShort();
        const active = this.participants.filter((p) => p.takePending());
        if (active.length === 0) continue;
        let failure: StorageError | undefined;
        try {
          this.commitAll(active);
          this.commitCount++;
          this.noteSuccess();
        } catch (err) {
          failure = new StorageError(`commit to ${this.dataFilePath} failed: ${messageOf(err)}`, {
            cause: err,
          });
          this.noteFailure(err);
        }
        for (const p of active) {
          if (failure === undefined) p.committed();
          else p.rolledBack(failure);
        }
      } while (this.flushAgain);
    } finally {
      this.flushing = false;
    }
    if (this.pendingWrites > 0) this.noteWrites(0);
  }

  /**
   * Runs `write` as its own transaction with fsync even in `normal` mode: for the rare writes whose
   * loss would break a promise made outside this process (transaction id reservations).
   */
  writeDurably(write: () => void): void {
    const handle = this.requireHandle();
    if (this.synchronous === 'full') return write();
    handle.pragma('synchronous = FULL');
    try {
      write();
    } finally {
      handle.pragma('synchronous = NORMAL');
    }
  }

  /**
   * Folds the WAL into the database and truncates it to nothing: a WAL keeps its largest size
   * otherwise, which on a full disk is the space the next commits need. Best effort: on a disk
   * with no room even for this it fails, and the next retry tries again.
   */
  giveSpaceBack(): boolean {
    if (this.handle === undefined) return false;
    try {
      const [row] = this.handle.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return row?.busy === 0;
    } catch (err) {
      this.logger.debug({ err, dataFilePath: this.dataFilePath }, 'sqlite checkpoint failed');
      return false;
    }
  }

  /**
   * While writes fail: give space back, retry what is pending, and with nothing pending try one
   * small write, so that the gateway says writes work again without waiting for new data.
   */
  private recover(): void {
    const handle = this.handle;
    if (handle === undefined) return;
    this.giveSpaceBack();
    this.flush();
    if (!this.failures.failing || this.participants.some((p) => p.hasGrowth?.() === true)) return;
    // While space is short the answer is known without writing (and the WAL stays empty).
    if (this.checkSpace() !== undefined) return;
    try {
      // A write that needs a new page, as a record would (an update in place could succeed on a
      // database that has no room for one), then shrunk again.
      handle
        .prepare(
          "INSERT INTO meta (key, value) VALUES ('write_check', zeroblob(?)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(PROBE_BYTES);
      handle.prepare("UPDATE meta SET value = ? WHERE key = 'write_check'").run(new Date().toISOString());
      this.noteSuccess();
    } catch (err) {
      this.logger.debug({ err, dataFilePath: this.dataFilePath }, 'sqlite write check failed');
    }
  }

  /** A commit failed (or new records were refused for want of space). */
  private noteFailure(err: unknown): void {
    // Summarised: on a full disk every commit fails, and a line each would fill what is left.
    const first = !this.failures.failing;
    this.failures.commitFailed(err);
    if (first) this.giveSpaceBack();
  }

  /** A commit succeeded; writes work again unless space is still short for new records. */
  private noteSuccess(): void {
    if (!this.failures.failing) return;
    if (this.checkSpace() !== undefined) return;
    this.failures.commitSucceeded();
  }

  /** Before a commit: on a nearly full disk, new records are refused and the rest goes on. */
  private refuseGrowthIfShort(): void {
    if (this.guard === undefined || !this.participants.some((p) => p.hasGrowth?.() === true)) return;
    const reason = this.checkSpace();
    if (reason === undefined) return;
    const error = new StorageError(`not stored in ${this.dataFilePath}: ${reason}`);
    for (const p of this.participants) p.refuseGrowth?.(error);
    this.noteFailure(error);
  }

  private checkSpace(): string | undefined {
    this.shortage = this.guard?.shortage();
    return this.shortage;
  }

  private spaceGuard(handle: Database.Database): SpaceGuard | undefined {
    if (this.minFreeDiskBytes <= 0) return undefined;
    const pageSize = handle.pragma('page_size', { simple: true }) as number;
    const freePages = handle.prepare<[], number>('PRAGMA freelist_count').pluck();
    return new SpaceGuard({
      folder: dirname(this.dataFilePath),
      minFreeBytes: this.minFreeDiskBytes,
      freeInDatabase: () => (freePages.get() ?? 0) * pageSize,
    });
  }

  private requireHandle(): Database.Database {
    if (this.handle === undefined) throw new StorageError(`database ${this.dataFilePath} is not open`);
    return this.handle;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private openHandle(): Database.Database {
    const path = this.dataFilePath;
    const folder = dirname(path);
    checkHostable(path);
    try {
      mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw new StorageError(
        `cannot create the folder ${folder} for the database ${path}: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
    let handle: Database.Database;
    try {
      handle = new Database(path);
    } catch (err) {
      throw new StorageError(`cannot open the database ${path}: ${bindingProblem(err) ?? messageOf(err)}`, {
        cause: err,
      });
    }
    try {
      // The first statements read the header, so a file that is not SQLite fails here.
      const mode = handle.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        this.logger.warn({ dataFilePath: path, journalMode: mode }, 'sqlite could not switch to WAL mode');
      }
      handle.pragma(`synchronous = ${this.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      handle.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
      if (this.maxDatabaseSizeBytes !== undefined) {
        const pageSize = handle.pragma('page_size', { simple: true }) as number;
        handle.pragma(`max_page_count = ${Math.max(1, Math.floor(this.maxDatabaseSizeBytes / pageSize))}`);
      }
      const check = handle.pragma('quick_check') as { quick_check: string }[];
      const problems = check.map((row) => row.quick_check).filter((text) => text !== 'ok');
      if (problems.length > 0) {
        throw new StorageError(
          `the database ${path} is damaged (quick_check: ${problems.slice(0, 5).join('; ')})`,
        );
      }
      handle.exec(SCHEMA_SQL);
      // A real write at open: a read-only file or folder opens fine and would only fail at the
      // first commit, after the gateway had started accepting charge points.
      handle
        .prepare(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        )
        .run('opened_at', new Date().toISOString());
      return handle;
    } catch (err) {
      handle.close();
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot use the database ${path}: ${messageOf(err)}`, { cause: err });
    }
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * better-sqlite3 loads its native binding at the first `new Database()`. Missing (installed with
 * `--ignore-scripts`, or the compile failed) or built for another Node.js, it throws a list of a
 * dozen paths or a dlopen error: say what to do instead.
 */
function bindingProblem(err: unknown): string | undefined {
  const message = messageOf(err);
  const missing = message.includes('Could not locate the bindings file');
  const foreign =
    (err as { code?: unknown } | undefined)?.code === 'ERR_DLOPEN_FAILED' ||
    message.includes('NODE_MODULE_VERSION');
  if (!missing && !foreign) return undefined;
  return (
    `the SQLite binding (better-sqlite3) is ${missing ? 'not built' : `built for another Node.js than ${process.version}`}` +
    ' — run `npm rebuild better-sqlite3` where the gateway is installed (it compiles with python3, make and a C++' +
    ' compiler), or set "storage": {"type": "memory"}'
  );
}

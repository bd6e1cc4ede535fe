/**
 * What the SQLite database does while its writes fail (a full disk, `max_database_size_mb`
 * reached, an I/O error) and how it says so: one warning when writes start failing, then one
 * summary line a minute with the count, one line when they work again. Meanwhile it retries on its
 * own every few seconds, first giving space back (a TRUNCATE checkpoint folds the WAL into the
 * database and cuts the WAL file to nothing), so the gateway recovers by itself once space returns.
 */
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';

export const RETRY_INTERVAL_MS = 5_000;

export interface WriteFailuresOptions {
  logger: Logger;
  dataFilePath: string;
  /** Called every RETRY_INTERVAL_MS while writes fail: give space back, retry what is pending. */
  retry(): void;
  now?: () => number;
}

/** The reason of a failed SQLite write in words (better-sqlite3 puts SQLite's code on `code`). */
export function describeWriteFailure(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_FULL') return 'the disk is full (or max_database_size_mb is reached)';
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) return `disk I/O error (${code})`;
  if (code === 'SQLITE_READONLY') return 'the database has become read-only';
  return message;
}

export class WriteFailures {
  /** Commits that failed since start. */
  failed = 0;
  /** The latest failure in words (describeWriteFailure). */
  lastReason: string | undefined;
  private readonly opts: WriteFailuresOptions;
  private readonly now: () => number;
  private readonly summary: LogSummary;
  private failingSince: number | undefined;
  private failedInRow = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: WriteFailuresOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.summary = new LogSummary({ logger: opts.logger, now: this.now });
  }

  get failing(): boolean {
    return this.failingSince !== undefined;
  }

  /** A commit failed: nothing of it is stored (its appenders are told so). */
  commitFailed(err: unknown): void {
    this.failed++;
    this.failedInRow++;
    this.lastReason = describeWriteFailure(err);
    this.failingSince ??= this.now();
    this.summary.error(
      'commit-failed',
      { dataFilePath: this.opts.dataFilePath, reason: describeWriteFailure(err), failedCommits: this.failed },
      'storage: writes fail, so nothing new can be stored (and nothing unstored is acknowledged); retrying every 5 s',
    );
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.opts.retry(), RETRY_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** A commit succeeded: if writes had been failing, they work again. */
  commitSucceeded(): void {
    if (this.failingSince === undefined) return;
    const seconds = Math.round((this.now() - this.failingSince) / 1000);
    this.opts.logger.info(
      { dataFilePath: this.opts.dataFilePath, failedCommits: this.failedInRow, seconds },
      `storage: writes work again after ${this.failedInRow} failed commits in ${seconds} s`,
    );
    this.failingSince = undefined;
    this.failedInRow = 0;
    this.stopTimer();
  }

  close(): void {
    this.stopTimer();
    this.summary.close();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

import type { Logger } from '../log.js';

const MINUTE_MS = 60_000;

export interface OverflowWarningOptions {
  logger: Logger;
  maxRecordsCount: number;
  now: () => number;
}

/**
 * Rate-limits the "outbox full" warning to one line a minute. A full outbox drops on every append,
 * so logging each drop would flood the log exactly when the operator needs it readable.
 */
export class OverflowWarning {
  private readonly opts: OverflowWarningOptions;
  private lastWarnAt: number | undefined;
  private unreported = 0;
  private total = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: OverflowWarningOptions) {
    this.opts = opts;
  }

  /** Records that `count` oldest records were just dropped; `total` is the lifetime count. */
  dropped(count: number, total: number): void {
    if (count <= 0) return;
    this.unreported += count;
    this.total = total;
    const now = this.opts.now();
    if (this.lastWarnAt === undefined || now - this.lastWarnAt >= MINUTE_MS) {
      this.report(now);
    } else if (this.timer === undefined) {
      // Drops may stop within the minute; the timer makes sure they are still reported. It is
      // unref'd so that a pending warning never keeps the process alive.
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.report(this.opts.now());
        },
        this.lastWarnAt + MINUTE_MS - now,
      );
      this.timer.unref();
    }
  }

  /** Reports what is still unreported (so a shutdown does not hide drops) and stops the timer. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unreported > 0) this.report(this.opts.now());
  }

  private report(now: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unreported === 0) return;
    const { maxRecordsCount } = this.opts;
    this.opts.logger.warn(
      { maxRecordsCount, droppedOverflow: this.unreported, droppedOverflowTotal: this.total },
      `outbox full (max_records_count=${maxRecordsCount}): dropped ${this.unreported} oldest records in the last minute (total ${this.total})`,
    );
    this.unreported = 0;
    this.lastWarnAt = now;
  }
}

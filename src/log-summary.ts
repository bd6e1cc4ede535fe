/**
 * Summarised warnings: a warning that can repeat once per message (an attribute update for an
 * unknown device, a bad frame, a failed commit) is logged at most once per kind per interval. The
 * first occurrence is logged at once; the ones after it in the same interval are only counted and
 * reported in one line when the interval ends (or at close), with the count and the fields of the
 * last occurrence. A flood of bad input then costs a few log lines, never one line per message.
 *
 * Kinds are fixed strings chosen by the code, never text from outside, so the table stays small.
 */
import type { Logger } from './log.js';

export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

export interface LogSummaryOptions {
  logger: Logger;
  /** Default 60 s. */
  intervalMs?: number;
  now?: () => number;
}

interface Kind {
  level: 'warn' | 'error' | 'info';
  message: string;
  /** When the current interval ends; 0 = no line logged in a live interval. */
  until: number;
  /** Occurrences since the last line. */
  repeated: number;
  /** Occurrences ever. */
  total: number;
  last: Record<string, unknown>;
  timer: NodeJS.Timeout | undefined;
}

export class LogSummary {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly kinds = new Map<string, Kind>();
  private closed = false;

  constructor(opts: LogSummaryOptions) {
    this.logger = opts.logger;
    this.intervalMs = opts.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    this.note('warn', kind, fields, message);
  }

  error(kind: string, fields: Record<string, unknown>, message: string): void {
    this.note('error', kind, fields, message);
  }

  info(kind: string, fields: Record<string, unknown>, message: string): void {
    this.note('info', kind, fields, message);
  }

  /** How often `kind` occurred since start. */
  count(kind: string): number {
    return this.kinds.get(kind)?.total ?? 0;
  }

  /** Reports every pending count (a stop must not hide what happened) and stops the timers. */
  close(): void {
    this.closed = true;
    for (const k of this.kinds.values()) this.flush(k);
  }

  private note(level: Kind['level'], kind: string, fields: Record<string, unknown>, message: string): void {
    let k = this.kinds.get(kind);
    if (k === undefined) {
      k = { level, message, until: 0, repeated: 0, total: 0, last: fields, timer: undefined };
      this.kinds.set(kind, k);
    }
    k.total++;
    k.last = fields;
    k.level = level;
    k.message = message;
    const now = this.now();
    if (k.until > now) {
      k.repeated++;
      if (k.timer === undefined && !this.closed) {
        // Unref'd: a pending summary never keeps the process alive (close() reports it at stop).
        const k2 = k;
        k.timer = setTimeout(() => this.flush(k2), k.until - now);
        k.timer.unref();
      }
      return;
    }
    k.until = now + this.intervalMs;
    this.logger[level]({ ...fields, total: k.total }, message);
  }

  private flush(k: Kind): void {
    if (k.timer !== undefined) clearTimeout(k.timer);
    k.timer = undefined;
    if (k.repeated === 0) {
      k.until = 0;
      return;
    }
    const seconds = Math.round(this.intervalMs / 1000);
    this.logger[k.level](
      { ...k.last, repeated: k.repeated, total: k.total, intervalSeconds: seconds },
      `${k.message} (${k.repeated} more in the last ${seconds} s)`,
    );
    k.repeated = 0;
    // A new interval starts with this summary line, so a steady flood gives one line per interval.
    k.until = this.closed ? 0 : this.now() + this.intervalMs;
  }
}

/**
 * Summarised warnings: a warning that can repeat once per message (an attribute update for an
 * unknown device, a bad frame, a failed commit) is logged at most once per kind per interval. The
 * first occurrence is logged at once; the ones after it in the same interval are only counted and
 * reported in one line when the interval ends (or at close), with the count and the fields of the
 * last occurrence. A flood of bad input then costs a few log lines, never one line per message.
 *
 * Kinds are fixed strings chosen by the code, never text from outside, so the table stays small.
 *
 * Where each occurrence matters to someone reading the log (a refused handshake: the OCPP security
 * whitepaper asks that failed connection attempts be logged), `burst` lines per kind and interval
 * are logged in full before counting starts, and the summary line carries a few distinct values
 * of the `sampled` fields (charge point ids, addresses) of the occurrences it stands for.
 */
import type { Logger } from './log.js';

export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

export interface LogSummaryOptions {
  logger: Logger;
  /** Default 60 s. */
  intervalMs?: number;
  now?: () => number;
  /** Occurrences of a kind logged in full per interval before they are only counted. Default 1. */
  burst?: number;
  /** Fields whose distinct values (at most MAX_SAMPLES each, cut to 64 characters) the summary lists. */
  sampled?: readonly string[];
}

/** Distinct values of a sampled field kept per summary line. */
export const MAX_SAMPLES = 10;
const MAX_SAMPLE_LENGTH = 64;

interface Kind {
  level: 'warn' | 'error' | 'info';
  message: string;
  /** When the current interval ends; 0 = no line logged in a live interval. */
  until: number;
  /** Occurrences since the last line. */
  repeated: number;
  /** Lines logged in full in the current interval. */
  logged: number;
  /** Distinct values of the sampled fields among the `repeated` occurrences. */
  samples: Map<string, Set<string>> | undefined;
  /** Occurrences ever. */
  total: number;
  last: Record<string, unknown>;
  timer: NodeJS.Timeout | undefined;
}

export class LogSummary {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly burst: number;
  private readonly sampled: readonly string[];
  private readonly kinds = new Map<string, Kind>();
  private closed = false;

  constructor(opts: LogSummaryOptions) {
    this.logger = opts.logger;
    this.intervalMs = opts.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
    this.burst = Math.max(1, opts.burst ?? 1);
    this.sampled = opts.sampled ?? [];
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
      k = {
        level,
        message,
        until: 0,
        repeated: 0,
        logged: 0,
        samples: undefined,
        total: 0,
        last: fields,
        timer: undefined,
      };
      this.kinds.set(kind, k);
    }
    k.total++;
    k.last = fields;
    k.level = level;
    k.message = message;
    const now = this.now();
    // Its interval ended before the timer ran: the count belongs to it, so it is reported first.
    if (k.repeated > 0 && k.until <= now) this.flush(k);
    if (k.until > now && k.logged < this.burst) {
      k.logged++;
      this.logger[level]({ ...fields, total: k.total }, message);
      return;
    }
    if (k.until > now) {
      k.repeated++;
      this.sample(k, fields);
      if (k.timer === undefined && !this.closed) {
        // Unref'd: a pending summary never keeps the process alive (close() reports it at stop).
        const k2 = k;
        k.timer = setTimeout(() => this.flush(k2), k.until - now);
        k.timer.unref();
      }
      return;
    }
    k.until = now + this.intervalMs;
    k.logged = 1;
    this.logger[level]({ ...fields, total: k.total }, message);
  }

  private sample(k: Kind, fields: Record<string, unknown>): void {
    for (const name of this.sampled) {
      const value = fields[name];
      if (value === undefined || value === null || value === '') continue;
      k.samples ??= new Map();
      let values = k.samples.get(name);
      if (values === undefined) k.samples.set(name, (values = new Set()));
      if (values.size < MAX_SAMPLES) values.add(String(value).slice(0, MAX_SAMPLE_LENGTH));
    }
  }

  private flush(k: Kind): void {
    if (k.timer !== undefined) clearTimeout(k.timer);
    k.timer = undefined;
    if (k.repeated === 0) {
      k.until = 0;
      k.logged = 0;
      return;
    }
    const seconds = Math.round(this.intervalMs / 1000);
    const samples =
      k.samples === undefined
        ? {}
        : { samples: Object.fromEntries([...k.samples].map(([name, values]) => [name, [...values]])) };
    this.logger[k.level](
      { ...k.last, repeated: k.repeated, total: k.total, intervalSeconds: seconds, ...samples },
      `${k.message} (${k.repeated} more in the last ${seconds} s)`,
    );
    k.repeated = 0;
    // The summary is this interval's line: a flood that goes on is counted, not logged in full
    // again, until an interval passes without it.
    k.logged = this.burst;
    k.samples = undefined;
    // A new interval starts with this summary line, so a steady flood gives one line per interval.
    k.until = this.closed ? 0 : this.now() + this.intervalMs;
  }
}

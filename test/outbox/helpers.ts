import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import type { NewRecord } from '../../src/outbox/types.js';

export function aTelemetryRecord(overrides: Partial<NewRecord> = {}): NewRecord {
  return { kind: 'telemetry', device: 'CP-1', body: '{"ts":1700000000000,"values":{"k":1}}', ...overrides };
}

/** `count` telemetry records whose bodies carry their number, so order and identity can be checked. */
export function numberedRecords(count: number, first = 0): NewRecord[] {
  return Array.from({ length: count }, (_, i) => aTelemetryRecord({ body: `{"n":${first + i}}` }));
}

export function numberOf(record: { body: string }): number {
  return (JSON.parse(record.body) as { n: number }).n;
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger writing into an array, so tests see exactly what operators would. */
export function capturingLogger(): { logger: Logger; lines: LogLine[]; warnings: () => string[] } {
  const lines: LogLine[] = [];
  // pino accepts any object with write(); this one is synchronous, so a line is there when the call returns.
  const sink = { write: (text: string) => lines.push(JSON.parse(text) as LogLine) };
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

/** A temp folder per test; `cleanup` removes it (call from afterEach). */
export function tempDirs(): { make: () => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'tb-outbox-'));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2024, 0, 1)): {
  now: () => number;
  set: (t: number) => void;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, set: (v) => (t = v), advance: (ms) => (t += ms) };
}

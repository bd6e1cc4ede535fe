/**
 * Sees every log line the process writes (a pino `streamWrite` hook, see log.ts) to count errors
 * per connector (statistics `connectorsErrors`, the `<connector>_ERRORS_COUNT` telemetry the
 * gateway page shows) and to hand lines to remote logging. Cheap when nobody listens: a line is
 * parsed only when it is an error or a remote-log consumer wants its level.
 */
import { pinoLevelOf } from './log-format.js';

export interface TappedLine {
  level: number;
  /** The parsed line (pino JSON). */
  record: Record<string, unknown>;
}

export type LineConsumer = (line: TappedLine) => void;

const ERROR_LEVEL = 50;

export class LogTap {
  /** Error (and fatal) lines per connector name, since start; `''` holds those of no connector. */
  readonly errors = new Map<string, number>();
  private consumer: LineConsumer | undefined;
  /** Lines below this level are not handed to the consumer (Infinity: none). */
  private consumerLevel = Infinity;

  /** Remote logging: lines at `minLevel` and above (pino numbers) go to `consumer`. */
  setConsumer(consumer: LineConsumer | undefined, minLevel: number): void {
    this.consumer = consumer;
    this.consumerLevel = consumer ? minLevel : Infinity;
  }

  get errorsTotal(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  write(line: string): void {
    const level = pinoLevelOf(line);
    if (level < ERROR_LEVEL && level < this.consumerLevel) return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (level >= ERROR_LEVEL) {
      const connector = typeof record.connector === 'string' ? record.connector : '';
      this.errors.set(connector, (this.errors.get(connector) ?? 0) + 1);
    }
    if (level >= this.consumerLevel) this.consumer?.({ level, record });
  }
}

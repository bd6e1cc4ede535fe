/**
 * Remote logging as the Python gateway does it (tb_handler.py TBRemoteLoggerHandler): log lines
 * sent as telemetry of the gateway device — `LOGS` plus `SERVICE_LOGS` / `CONNECTION_LOGS` /
 * `STORAGE_LOGS` at the level of the shared attribute `RemoteLoggingLevel`, and `<connector>_LOGS`
 * for connectors whose ocpp.json says `"enableRemoteLogging": true`, at that file's `logLevel`.
 * Only lines the local log level lets through exist to be sent (LOG_LEVEL). Lines are secret-free
 * (log-format.ts redact) and rate-limited as they are taken — a line beyond the rate is counted
 * and dropped before it is formatted, so a flood of lines costs little — buffered (bounded, oldest
 * dropped) and sent once a second, each publish within ThingsBoard's payload and datapoint limits;
 * what had to be dropped is said in a line of its own.
 */
import type { Logger } from '../log.js';
import type { GatewayDeviceChannel } from '../thingsboard/device-channel.js';
import { formatLine, levelFromName, type LiteralSecrets } from './log-format.js';
import type { LogTap, TappedLine } from './log-tap.js';

const FLUSH_MS = 1000;
/** Lines per second on average, and the burst a quiet period allows. */
const LINES_PER_SECOND = 20;
const BURST = 200;
const MAX_BUFFERED = 1000;
/** A telemetry publish of log lines stays under this many bytes. */
const MAX_BATCH_BYTES = 16_384;

const SERVICE_KEYS: Readonly<Record<string, string>> = {
  thingsboard: 'CONNECTION_LOGS',
  outbox: 'STORAGE_LOGS',
};

export interface RemoteLogsCounters {
  sent: number;
  /** Lines dropped: buffer full, rate exceeded, or the publish failed. */
  dropped: number;
}

type Entry = { ts: number; values: Record<string, string> };

export interface RemoteLogsOptions {
  tap: LogTap;
  device: GatewayDeviceChannel;
  connected(): boolean;
  /** Datapoints one telemetry publish of the gateway device may carry (its rate limits). */
  maxDatapoints(): number;
  /** Bytes one publish may carry (ThingsBoard's maxPayloadSize at the safety share). */
  maxBytes?(): number;
  logger: Logger;
  /** Literal secrets never to send (the access token, passwords). */
  secrets: () => LiteralSecrets | readonly string[];
}

export class RemoteLogs {
  readonly counters: RemoteLogsCounters = { sent: 0, dropped: 0 };
  private readonly opts: RemoteLogsOptions;
  private serviceLevel = Infinity;
  private readonly connectorLevels = new Map<string, number>();
  private buffer: Entry[] = [];
  private tokens = BURST;
  private lastRefill = Date.now();
  private lastTs = 0;
  private droppedUnsaid = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;

  constructor(opts: RemoteLogsOptions) {
    this.opts = opts;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.opts.tap.setConsumer(undefined, Infinity);
  }

  /** RemoteLoggingLevel: NONE, CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE. */
  setLevel(name: unknown): void {
    this.serviceLevel = levelFromName(name);
    this.retap();
  }

  /** A connector's remote logging (`enableRemoteLogging`, `logLevel` of its ocpp.json). */
  setConnector(name: string, enabled: boolean, level: unknown): void {
    if (enabled) this.connectorLevels.set(name, levelFromName(level ?? 'INFO'));
    else this.connectorLevels.delete(name);
    this.retap();
  }

  private retap(): void {
    const min = Math.min(this.serviceLevel, ...this.connectorLevels.values());
    if (Number.isFinite(min)) this.opts.tap.setConsumer((line) => this.take(line), min);
    else this.opts.tap.setConsumer(undefined, Infinity);
  }

  private take({ level, record }: TappedLine): void {
    // Our own lines would feed themselves.
    if (record.component === 'remote-logs') return;
    const connector = typeof record.connector === 'string' ? record.connector : undefined;
    let keys: string[];
    if (connector !== undefined) {
      const min = this.connectorLevels.get(connector);
      if (min === undefined || level < min) return;
      keys = [`${connector}_LOGS`];
    } else {
      if (level < this.serviceLevel) return;
      const component = typeof record.component === 'string' ? record.component : '';
      const key = Object.hasOwn(SERVICE_KEYS, component) ? SERVICE_KEYS[component] : 'SERVICE_LOGS';
      keys = [key ?? 'SERVICE_LOGS', 'LOGS'];
    }
    // The rate is enforced here, before the line is formatted and its secrets replaced.
    const now = Date.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.lastRefill) / 1000) * LINES_PER_SECOND);
    this.lastRefill = now;
    if (this.tokens < 1) {
      this.drop(1);
      return;
    }
    this.tokens -= 1;
    if (this.buffer.length >= MAX_BUFFERED) {
      this.buffer.shift();
      this.drop(1);
    }
    const text = formatLine(level, record, this.opts.secrets());
    const values: Record<string, string> = {};
    for (const k of keys) values[k] = text;
    this.buffer.push({ ts: this.uniqueTs(record.time), values });
  }

  /** ThingsBoard keeps one value per key and millisecond: lines of one millisecond are spread. */
  private uniqueTs(time: unknown): number {
    const parsed = typeof time === 'string' ? Date.parse(time) : typeof time === 'number' ? time : NaN;
    const ts = Math.max(Number.isNaN(parsed) ? Date.now() : parsed, this.lastTs + 1);
    this.lastTs = ts;
    return ts;
  }

  private drop(n: number): void {
    this.counters.dropped += n;
    this.droppedUnsaid += n;
  }

  private async flush(): Promise<void> {
    if (this.sending || !this.opts.connected()) return;
    const now = Date.now();
    if (this.droppedUnsaid > 0) {
      const text = `${this.droppedUnsaid} log lines were not sent to ThingsBoard (remote logging is limited to ${LINES_PER_SECOND} lines a second)`;
      this.buffer.push({ ts: this.uniqueTs(now), values: { LOGS: formatLine(40, { msg: text }, []) } });
      this.droppedUnsaid = 0;
    }
    if (this.buffer.length === 0) return;
    const batch: Entry[] = [];
    let bytes = 2;
    let datapoints = 0;
    const maxDatapoints = this.opts.maxDatapoints();
    const maxBytes = Math.min(MAX_BATCH_BYTES, this.opts.maxBytes?.() ?? MAX_BATCH_BYTES);
    while (this.buffer.length > 0) {
      const next = this.buffer[0] as Entry;
      const size = Buffer.byteLength(JSON.stringify(next)) + 1;
      const dp = Object.keys(next.values).length;
      if (batch.length > 0 && (bytes + size > maxBytes || datapoints + dp > maxDatapoints)) break;
      if (bytes + size > maxBytes) {
        // One line longer than a publish may be: its text is cut to fit (or, when not even the
        // cut line fits, dropped).
        const cut = truncate(next, maxBytes - bytes);
        if (Buffer.byteLength(JSON.stringify(cut)) + 1 > maxBytes - bytes) {
          this.buffer.shift();
          this.drop(1);
        } else this.buffer[0] = cut;
        continue;
      }
      batch.push(next);
      this.buffer.shift();
      bytes += size;
      datapoints += dp;
    }
    this.sending = true;
    try {
      await this.opts.device.publishTelemetry(batch);
      this.counters.sent += batch.length;
    } catch {
      // Not logged: a log line about failing to send log lines would be queued itself.
      this.drop(batch.length);
    } finally {
      this.sending = false;
    }
  }
}

/** An entry whose lines are cut so that the entry takes at most `bytes` (as JSON, with a separator). */
function truncate(entry: Entry, bytes: number): Entry {
  const keys = Object.keys(entry.values);
  const cutTo = (chars: number): Entry => {
    const values: Record<string, string> = {};
    for (const k of keys) {
      const text = entry.values[k] ?? '';
      values[k] = text.length > chars ? `${text.slice(0, Math.max(0, chars - 1))}…` : text;
    }
    return { ts: entry.ts, values };
  };
  const sizeOf = (e: Entry): number => Buffer.byteLength(JSON.stringify(e)) + 1;
  let chars = Math.max(0, Math.floor((bytes - sizeOf(cutTo(0))) / Math.max(1, keys.length)));
  // Escapes and multi-byte characters make a character cost more than a byte: shrink until it fits.
  for (let cut = cutTo(chars); chars > 0; cut = cutTo(chars)) {
    if (sizeOf(cut) <= bytes) return cut;
    chars = Math.floor(chars * 0.8);
  }
  return cutTo(0);
}

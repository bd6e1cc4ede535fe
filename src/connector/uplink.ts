/**
 * From a charge point's message to ThingsBoard datapoints, through the chargePoints entry's
 * `attributes` and `timeseries` mappings. Templates were compiled at config load; here they only
 * render. The mappings are indexed by action once, so a message touches only its own entries.
 */
import type { ChargePointConfig, DatapointMapping } from '../config/types.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthExceeds } from '../json-depth.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { NewRecord } from '../outbox/types.js';
import { parseTimestamp } from './timestamp.js';
import { convertValue } from './value-types.js';

export interface UplinkCounters {
  /** Datapoints produced. */
  mapped: number;
  /** Datapoints skipped because a placeholder did not resolve (or the key was not text). */
  skipped: number;
  /** Datapoints skipped because the value could not be converted to the entry's `type`. */
  unconvertible: number;
  /** Datapoints skipped because their value holds a number JSON cannot carry (1e309 → Infinity). */
  skippedNotFinite: number;
  /** Telemetry whose own timestamp could not be read, stamped with the time of receipt instead. */
  receiveTimeUsed: number;
  /** Of `mapped`: attribute and telemetry datapoints. */
  attributes: number;
  timeseries: number;
  /** Messages that produced at least one datapoint. */
  messages: number;
}

export function newUplinkCounters(): UplinkCounters {
  return {
    mapped: 0,
    skipped: 0,
    unconvertible: 0,
    skippedNotFinite: 0,
    receiveTimeUsed: 0,
    attributes: 0,
    timeseries: 0,
    messages: 0,
  };
}

interface ActionMappings {
  attributes: DatapointMapping[];
  timeseries: DatapointMapping[];
}

/** Per chargePoints entry: the mappings that apply to each action. */
export class UplinkMapper {
  private readonly byAction = new Map<string, ActionMappings>();
  private readonly counters: UplinkCounters;
  private readonly logger: Logger;
  private readonly warnings: LogSummary | undefined;
  private readonly maxJsonDepth: number;

  constructor(
    entry: ChargePointConfig,
    counters: UplinkCounters,
    logger: Logger,
    warnings?: LogSummary,
    maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
  ) {
    this.counters = counters;
    this.logger = logger;
    this.warnings = warnings;
    this.maxJsonDepth = maxJsonDepth;
    const slot = (action: string): ActionMappings => {
      let m = this.byAction.get(action);
      if (!m) {
        m = { attributes: [], timeseries: [] };
        this.byAction.set(action, m);
      }
      return m;
    };
    for (const a of entry.attributes) for (const t of a.messageTypes) slot(t).attributes.push(a);
    for (const a of entry.timeseries) for (const t of a.messageTypes) slot(t).timeseries.push(a);
  }

  handles(action: string): boolean {
    return this.byAction.has(action);
  }

  /**
   * The outbox records for one message: one attributes record (all keys together) and one
   * telemetry record per distinct timestamp. `receivedAt` is used where the message carries none.
   */
  map(action: string, scope: Record<string, unknown>, device: string, receivedAt: number): NewRecord[] {
    const mappings = this.byAction.get(action);
    if (!mappings) return [];
    const records: NewRecord[] = [];
    if (mappings.attributes.length > 0) {
      // Null prototype: a rendered key may be `__proto__`, which on a plain object would set the
      // prototype instead of adding the datapoint (JSON.stringify writes own keys, that one too).
      const values = Object.create(null) as Record<string, unknown>;
      let any = false;
      for (const m of mappings.attributes) {
        const point = this.render(m, scope, action, device);
        if (point) {
          values[point.key] = point.value;
          any = true;
          this.counters.attributes++;
        }
      }
      if (any) records.push({ kind: 'attributes', device, body: JSON.stringify(values) });
    }
    if (mappings.timeseries.length > 0) {
      const byTs = new Map<number, Record<string, unknown>>();
      for (const m of mappings.timeseries) {
        const point = this.render(m, scope, action, device);
        if (!point) continue;
        this.counters.timeseries++;
        const ts = this.timestampOf(point.timestamp, action, device) ?? receivedAt;
        let values = byTs.get(ts);
        if (!values) {
          values = Object.create(null) as Record<string, unknown>;
          byTs.set(ts, values);
        }
        values[point.key] = point.value;
      }
      for (const [ts, values] of byTs) {
        records.push({ kind: 'telemetry', device, body: JSON.stringify({ ts, values }) });
      }
    }
    if (records.length > 0) this.counters.messages++;
    return records;
  }

  private render(
    m: DatapointMapping,
    scope: Record<string, unknown>,
    action: string,
    device: string,
  ): { key: string; value: unknown; timestamp: string | undefined } | undefined {
    const key = m.key.render(scope);
    const value = key.ok ? m.value.render(scope) : key;
    if (!key.ok || !value.ok || typeof key.value !== 'string' || key.value === '') {
      this.counters.skipped++;
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug(
          { device, action, key: m.key.source, unresolved: !value.ok ? value.missing : m.key.source },
          'datapoint skipped: placeholder did not resolve',
        );
      }
      return undefined;
    }
    if (!isJsonSafe(value.value)) return this.notFinite(device, action, key.value);
    let out = value.value;
    if (m.type !== undefined) {
      const converted = convertValue(m.type, out, this.maxJsonDepth);
      if (!converted.ok) {
        this.counters.unconvertible++;
        if (this.logger.isLevelEnabled('debug')) {
          this.logger.debug(
            { device, action, key: key.value, type: m.type },
            'datapoint skipped: value not convertible',
          );
        }
        return undefined;
      }
      out = converted.value;
      // A conversion can make such a number too: `json` of the text "1e309".
      if (!isJsonSafe(out)) return this.notFinite(device, action, key.value);
    }
    this.counters.mapped++;
    return { key: key.value, value: out, timestamp: value.timestamp };
  }

  private notFinite(device: string, action: string, key: string): undefined {
    this.counters.skippedNotFinite++;
    this.warn(
      'not-finite',
      { device, action, key },
      'datapoint skipped: its value is a number JSON cannot carry (e.g. 1e309)',
    );
    return undefined;
  }

  private timestampOf(text: string | undefined, action: string, device: string): number | undefined {
    if (text === undefined) return undefined;
    const ts = parseTimestamp(text);
    if (ts === undefined) {
      this.counters.receiveTimeUsed++;
      this.warn(
        'bad-timestamp',
        { device, action, timestamp: text.slice(0, 64) },
        'timestamp not understood: the time of receipt is used instead',
      );
    }
    return ts;
  }

  private warn(kind: string, fields: Record<string, unknown>, message: string): void {
    if (this.warnings) this.warnings.warn(kind, fields, message);
    else this.logger.warn(fields, message);
  }
}

/**
 * False when `value` is or holds a number JSON cannot write (Infinity, NaN): JSON.stringify would
 * publish it as `null`, a different value. Walks without recursion; inputs are depth-bounded.
 */
function isJsonSafe(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return false;
    } else if (typeof node === 'object' && node !== null) {
      for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push(child as unknown);
    }
  }
  return true;
}

/**
 * What the templates see for a message: the payload itself, with DataTransfer `data` parsed when
 * it is JSON (the Python connector JSON-parses it too, so `${data.temp}` works).
 */
export function mappingScope(
  action: string,
  payload: Record<string, unknown>,
  maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Record<string, unknown> {
  if (action !== 'DataTransfer' || typeof payload.data !== 'string') return payload;
  // Text nested deeper than the frame limit stays text: parsed, it could not be serialised again.
  if (jsonDepthExceeds(payload.data, maxJsonDepth)) return payload;
  try {
    return { ...payload, data: JSON.parse(payload.data) as unknown };
  } catch {
    // Not JSON: the templates see the raw string.
    return payload;
  }
}

/**
 * From a charge point's message to ThingsBoard datapoints, through the chargePoints entry's
 * `attributes` and `timeseries` mappings. Templates were compiled at config load; here they only
 * render. The mappings are indexed by action once, so a message touches only its own entries.
 */
import type { ChargePointConfig, DatapointMapping } from '../config/types.js';
import type { Logger } from '../log.js';
import type { NewRecord } from '../outbox/types.js';
import { convertValue } from './value-types.js';

export interface UplinkCounters {
  /** Datapoints produced. */
  mapped: number;
  /** Datapoints skipped because a placeholder did not resolve (or the key was not text). */
  skipped: number;
  /** Datapoints skipped because the value could not be converted to the entry's `type`. */
  unconvertible: number;
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

  constructor(entry: ChargePointConfig, counters: UplinkCounters, logger: Logger) {
    this.counters = counters;
    this.logger = logger;
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
      const values: Record<string, unknown> = {};
      let any = false;
      for (const m of mappings.attributes) {
        const point = this.render(m, scope, action, device);
        if (point) {
          values[point.key] = point.value;
          any = true;
        }
      }
      if (any) records.push({ kind: 'attributes', device, body: JSON.stringify(values) });
    }
    if (mappings.timeseries.length > 0) {
      const byTs = new Map<number, Record<string, unknown>>();
      for (const m of mappings.timeseries) {
        const point = this.render(m, scope, action, device);
        if (!point) continue;
        const parsed = point.timestamp === undefined ? NaN : Date.parse(point.timestamp);
        const ts = Number.isNaN(parsed) ? receivedAt : parsed;
        let values = byTs.get(ts);
        if (!values) {
          values = {};
          byTs.set(ts, values);
        }
        values[point.key] = point.value;
      }
      for (const [ts, values] of byTs) {
        records.push({ kind: 'telemetry', device, body: JSON.stringify({ ts, values }) });
      }
    }
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
    let out = value.value;
    if (m.type !== undefined) {
      const converted = convertValue(m.type, out);
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
    }
    this.counters.mapped++;
    return { key: key.value, value: out, timestamp: value.timestamp };
  }
}

/**
 * What the templates see for a message: the payload itself, with DataTransfer `data` parsed when
 * it is JSON (the Python connector JSON-parses it too, so `${data.temp}` works).
 */
export function mappingScope(action: string, payload: Record<string, unknown>): Record<string, unknown> {
  if (action !== 'DataTransfer' || typeof payload.data !== 'string') return payload;
  try {
    return { ...payload, data: JSON.parse(payload.data) as unknown };
  } catch {
    // Not JSON: the templates see the raw string.
    return payload;
  }
}

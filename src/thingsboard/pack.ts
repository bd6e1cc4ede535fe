/**
 * Packing outbox records into few ThingsBoard gateway-API publishes.
 *
 * Records are cut into groups: a group is a contiguous run of outbox ids published together and
 * removed from the outbox together once every publish of it was acknowledged. A connect or
 * disconnect is a group of its own (it must stay ordered against the data around it); between
 * them, telemetry and attributes of any devices share a group — one telemetry publish and one
 * attributes publish — while both stay under the size cap. Telemetry and attributes are separate
 * streams in ThingsBoard, so their relative order does not matter; within each, order per device
 * is kept (telemetry entries in append order; later attribute values override earlier ones).
 * Telemetry bodies are already JSON text and are concatenated, never re-parsed.
 */
import type { StoredRecord } from '../outbox/types.js';

export const TOPIC = {
  telemetry: 'v1/gateway/telemetry',
  attributes: 'v1/gateway/attributes',
  connect: 'v1/gateway/connect',
  disconnect: 'v1/gateway/disconnect',
  rpc: 'v1/gateway/rpc',
} as const;

export interface Publish {
  topic: string;
  payload: string;
}

export interface PackGroup {
  /** The group covers every outbox record with fromId <= id <= toId. */
  fromId: number;
  toId: number;
  /** Records in the group. */
  count: number;
  /** One to two publishes (telemetry, attributes), or one connect/disconnect. */
  publishes: Publish[];
}

/** Accumulates one group's telemetry and attributes and knows the size of the payloads it will make. */
class GroupBuilder {
  readonly fromId: number;
  toId: number;
  count = 0;
  private readonly telemetry = new Map<string, string[]>();
  private readonly attributes = new Map<string, Record<string, unknown>>();
  telemetryBytes = 2;
  attributesBytes = 2;

  constructor(fromId: number) {
    this.fromId = fromId;
    this.toId = fromId;
  }

  /** Bytes `r` would add to its publish. */
  cost(r: StoredRecord): number {
    const fresh = JSON.stringify(r.device).length + 4;
    if (r.kind === 'telemetry') return r.body.length + 1 + (this.telemetry.has(r.device) ? 0 : fresh);
    return r.body.length + (this.attributes.has(r.device) ? 0 : fresh);
  }

  fits(r: StoredRecord, maxBytes: number): boolean {
    if (this.count === 0) return true;
    const current = r.kind === 'telemetry' ? this.telemetryBytes : this.attributesBytes;
    return current + this.cost(r) <= maxBytes;
  }

  add(r: StoredRecord): void {
    const cost = this.cost(r);
    if (r.kind === 'telemetry') {
      this.telemetryBytes += cost;
      const bodies = this.telemetry.get(r.device);
      if (bodies) bodies.push(r.body);
      else this.telemetry.set(r.device, [r.body]);
    } else {
      this.attributesBytes += cost;
      const values = JSON.parse(r.body) as Record<string, unknown>;
      let current = this.attributes.get(r.device);
      if (!current) {
        // Null prototype and plain assignment, not Object.assign onto {}: an attribute key may be
        // `__proto__`, which would otherwise set the prototype and vanish from the publish.
        current = Object.create(null) as Record<string, unknown>;
        this.attributes.set(r.device, current);
      }
      for (const key of Object.keys(values)) current[key] = values[key];
    }
    this.toId = r.id;
    this.count++;
  }

  build(): PackGroup {
    const publishes: Publish[] = [];
    if (this.telemetry.size > 0) {
      const parts: string[] = [];
      for (const [device, bodies] of this.telemetry)
        parts.push(`${JSON.stringify(device)}:[${bodies.join(',')}]`);
      publishes.push({ topic: TOPIC.telemetry, payload: `{${parts.join(',')}}` });
    }
    if (this.attributes.size > 0) {
      publishes.push({
        topic: TOPIC.attributes,
        payload: JSON.stringify(Object.fromEntries(this.attributes)),
      });
    }
    return { fromId: this.fromId, toId: this.toId, count: this.count, publishes };
  }
}

/** Packs `records` (ascending ids, as read from the outbox) into groups of publishes of at most `maxBytes`. */
export function packRecords(records: readonly StoredRecord[], maxBytes: number): PackGroup[] {
  const groups: PackGroup[] = [];
  let current: GroupBuilder | undefined;
  const close = (): void => {
    if (current && current.count > 0) groups.push(current.build());
    current = undefined;
  };
  for (const r of records) {
    if (r.kind === 'connect' || r.kind === 'disconnect') {
      close();
      groups.push(deviceEvent(r));
      continue;
    }
    if (current && !current.fits(r, maxBytes)) close();
    current ??= new GroupBuilder(r.id);
    current.add(r);
  }
  close();
  return groups;
}

function deviceEvent(r: StoredRecord): PackGroup {
  const device = JSON.stringify(r.device);
  const publish: Publish =
    r.kind === 'connect'
      ? {
          topic: TOPIC.connect,
          payload: `{"device":${device},"type":${JSON.stringify((JSON.parse(r.body) as { type?: string }).type ?? 'default')}}`,
        }
      : { topic: TOPIC.disconnect, payload: `{"device":${device}}` };
  return { fromId: r.id, toId: r.id, count: 1, publishes: [publish] };
}

/**
 * Packing outbox records into few ThingsBoard gateway-API publishes.
 *
 * Records are cut into groups: a group is a contiguous run of outbox ids published together and
 * removed from the outbox together once every publish of it was acknowledged. A connect or
 * disconnect is a group of its own (it must stay ordered against the data around it); between
 * them, telemetry and attributes of any devices share a group — one telemetry publish and one
 * attributes publish — while both stay under the caps. Telemetry and attributes are separate
 * streams in ThingsBoard, so their relative order does not matter; within each, order per device
 * is kept (telemetry entries in append order; later attribute values override earlier ones).
 * Telemetry bodies are already JSON text and are concatenated, never re-parsed.
 *
 * The caps are those of the session limits in force (pacer.ts): bytes per publish, datapoints per
 * publish and device entries per publish, so that ThingsBoard's buckets can always admit a publish
 * whole. A single record bigger than a cap is split over several publishes of a group of its own;
 * a single value bigger than the byte cap can never be delivered and is dropped (counted).
 */
import type { StoredRecord } from '../outbox/types.js';
import { countTelemetryValues, splitValues } from './pack-split.js';
import type { Cost } from './pacer.js';

export { countTelemetryValues };

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
  /** What ThingsBoard counts for it against the gateway's rate limits. */
  cost: Cost;
  /**
   * A telemetry or attributes publish: the devices of its entries. ThingsBoard counts one more
   * regular message for each that its gateway session has not connected yet (an implicit connect):
   * the publisher adds those to `cost` when it sends.
   */
  devices?: readonly string[];
  /** A connect or disconnect: the device it opens or closes in ThingsBoard's gateway session. */
  session?: { device: string; open: boolean };
}

export interface PackGroup {
  /** The group covers every outbox record with fromId <= id <= toId. */
  fromId: number;
  toId: number;
  /** Records in the group. */
  count: number;
  /** Publishes: telemetry and attributes (several when one record had to be split), or one connect/disconnect. */
  publishes: Publish[];
  /** Datapoints the group carries (statistics: platformTsProduced, platformAttrProduced). */
  telemetryDatapoints: number;
  attributeDatapoints: number;
}

export interface PackLimits {
  maxBytes: number;
  /** Datapoints per publish (a device entry's values, summed). Default: unlimited. */
  maxDatapoints?: number;
  /** Device entries per publish. Default: unlimited. */
  maxEntries?: number;
  /** ThingsBoard renamed these devices: publish under the new name. */
  rename?: (device: string) => string;
}

export interface PackResult {
  groups: PackGroup[];
  /** Records (or values of a record) that can never fit a publish: dropped. */
  dropped: { id: number; device: string; reason: string }[];
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Accumulates one group's telemetry and attributes and knows the size of the payloads it will make. */
class GroupBuilder {
  readonly fromId: number;
  toId: number;
  count = 0;
  private readonly telemetry = new Map<string, string[]>();
  private readonly attributes = new Map<string, Record<string, unknown>>();
  telemetryBytes = 2;
  attributesBytes = 2;
  telemetryDatapoints = 0;
  attributeDatapoints = 0;

  constructor(fromId: number) {
    this.fromId = fromId;
    this.toId = fromId;
  }

  /** Bytes `item` would add to its publish (UTF-8: ThingsBoard's limit is in bytes). */
  cost(item: Item): number {
    const fresh = item.nameBytes + 4;
    if (item.kind === 'telemetry') return item.bytes + 1 + (this.telemetry.has(item.device) ? 0 : fresh);
    return item.bytes + (this.attributes.has(item.device) ? 0 : fresh);
  }

  fits(item: Item, limits: Required<Omit<PackLimits, 'rename'>>): boolean {
    if (this.count === 0) return true;
    if (item.kind === 'telemetry') {
      const entries = this.telemetry.size + (this.telemetry.has(item.device) ? 0 : 1);
      return (
        this.telemetryBytes + this.cost(item) <= limits.maxBytes &&
        this.telemetryDatapoints + item.datapoints <= limits.maxDatapoints &&
        entries <= limits.maxEntries
      );
    }
    const entries = this.attributes.size + (this.attributes.has(item.device) ? 0 : 1);
    return (
      this.attributesBytes + this.cost(item) <= limits.maxBytes &&
      this.attributeDatapoints + item.datapoints <= limits.maxDatapoints &&
      entries <= limits.maxEntries
    );
  }

  add(item: Item): void {
    const cost = this.cost(item);
    if (item.kind === 'telemetry') {
      this.telemetryBytes += cost;
      this.telemetryDatapoints += item.datapoints;
      const bodies = this.telemetry.get(item.device);
      if (bodies) bodies.push(item.body);
      else this.telemetry.set(item.device, [item.body]);
    } else {
      this.attributesBytes += cost;
      // An upper bound: a key set again by a later record is counted twice.
      this.attributeDatapoints += item.datapoints;
      let current = this.attributes.get(item.device);
      if (!current) {
        // Null prototype and plain assignment, not Object.assign onto {}: an attribute key may be
        // `__proto__`, which would otherwise set the prototype and vanish from the publish.
        current = Object.create(null) as Record<string, unknown>;
        this.attributes.set(item.device, current);
      }
      for (const [key, value] of Object.entries(item.values ?? {})) current[key] = value;
    }
    this.toId = item.id;
    this.count++;
  }

  build(): PackGroup {
    const publishes: Publish[] = [];
    if (this.telemetry.size > 0) {
      const parts: string[] = [];
      for (const [device, bodies] of this.telemetry)
        parts.push(`${JSON.stringify(device)}:[${bodies.join(',')}]`);
      publishes.push({
        topic: TOPIC.telemetry,
        payload: `{${parts.join(',')}}`,
        cost: { messages: 0, telemetryMessages: this.telemetry.size, datapoints: this.telemetryDatapoints },
        devices: [...this.telemetry.keys()],
      });
    }
    let attributeDatapoints = 0;
    if (this.attributes.size > 0) {
      for (const values of this.attributes.values()) attributeDatapoints += Object.keys(values).length;
      publishes.push({
        topic: TOPIC.attributes,
        payload: JSON.stringify(Object.fromEntries(this.attributes)),
        cost: {
          messages: this.attributes.size,
          telemetryMessages: this.attributes.size,
          datapoints: attributeDatapoints,
        },
        devices: [...this.attributes.keys()],
      });
    }
    return {
      fromId: this.fromId,
      toId: this.toId,
      count: this.count,
      publishes,
      telemetryDatapoints: this.telemetryDatapoints,
      attributeDatapoints,
    };
  }
}

/** A telemetry or attributes record ready to pack: its device (renamed), body and datapoints. */
interface Item {
  id: number;
  kind: 'telemetry' | 'attributes';
  device: string;
  body: string;
  /** UTF-8 length of body. */
  bytes: number;
  /** UTF-8 length of the device name as a JSON string. */
  nameBytes: number;
  datapoints: number;
  /** Attributes only: the parsed values. */
  values?: Record<string, unknown>;
}

/**
 * Packs `records` (ascending ids, as read from the outbox) into groups of publishes within
 * `limits` (a number: the byte cap alone).
 */
export function packRecords(records: readonly StoredRecord[], limits: PackLimits | number): PackGroup[] {
  return pack(records, limits).groups;
}

export function pack(records: readonly StoredRecord[], limitsIn: PackLimits | number): PackResult {
  const given: PackLimits = typeof limitsIn === 'number' ? { maxBytes: limitsIn } : limitsIn;
  const limits = {
    maxBytes: given.maxBytes,
    maxDatapoints: Math.max(1, given.maxDatapoints ?? UNLIMITED),
    maxEntries: Math.max(1, given.maxEntries ?? UNLIMITED),
  };
  const rename = given.rename;
  const result: PackResult = { groups: [], dropped: [] };
  const names = new Map<string, number>();
  let current: GroupBuilder | undefined;
  const close = (): void => {
    if (current && current.count > 0) result.groups.push(current.build());
    current = undefined;
  };
  for (const r of records) {
    const device = rename ? rename(r.device) : r.device;
    if (r.kind === 'connect' || r.kind === 'disconnect') {
      close();
      result.groups.push(deviceEvent(r, device));
      continue;
    }
    const item = toItem(r, device, names);
    if (item === undefined) {
      result.dropped.push({ id: r.id, device, reason: 'its body is not a JSON object' });
      continue;
    }
    if (!fitsAlone(item, limits)) {
      close();
      const split = splitRecord(item, limits);
      if (split.group) result.groups.push(split.group);
      result.dropped.push(...split.dropped);
      continue;
    }
    if (current && !current.fits(item, limits)) close();
    current ??= new GroupBuilder(r.id);
    current.add(item);
  }
  close();
  return result;
}

function toItem(r: StoredRecord, device: string, names: Map<string, number>): Item | undefined {
  let nameBytes = names.get(device);
  if (nameBytes === undefined) {
    nameBytes = Buffer.byteLength(JSON.stringify(device));
    names.set(device, nameBytes);
  }
  if (r.kind === 'telemetry') {
    return {
      id: r.id,
      kind: 'telemetry',
      device,
      body: r.body,
      bytes: Buffer.byteLength(r.body),
      nameBytes,
      datapoints: countTelemetryValues(r.body),
    };
  }
  let values: unknown;
  try {
    values = JSON.parse(r.body);
  } catch {
    return undefined;
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return undefined;
  const record = values as Record<string, unknown>;
  return {
    id: r.id,
    kind: 'attributes',
    device,
    body: r.body,
    bytes: Buffer.byteLength(r.body),
    nameBytes,
    datapoints: Object.keys(record).length,
    values: record,
  };
}

/** Whether a record fits one publish on its own. */
function fitsAlone(item: Item, limits: { maxBytes: number; maxDatapoints: number }): boolean {
  return (
    new GroupBuilder(item.id).cost(item) + 2 <= limits.maxBytes && item.datapoints <= limits.maxDatapoints
  );
}

/**
 * One record too big for one publish: its values in chunks within the caps (pack-split.ts), each
 * chunk a publish of a group of its own (the record leaves the outbox once every chunk was
 * acknowledged).
 */
function splitRecord(
  item: Item,
  limits: { maxBytes: number; maxDatapoints: number },
): { group: PackGroup | undefined; dropped: PackResult['dropped'] } {
  const split = splitValues(
    item.kind,
    item.device,
    item.kind === 'telemetry' ? item.body : (item.values ?? {}),
    limits,
  );
  const dropped = split.dropped.map((reason) => ({ id: item.id, device: item.device, reason }));
  if (!split.chunks) return { group: undefined, dropped };
  let datapoints = 0;
  const publishes: Publish[] = split.chunks.map((c) => {
    datapoints += c.datapoints;
    return {
      topic: item.kind === 'telemetry' ? TOPIC.telemetry : TOPIC.attributes,
      payload: c.payload,
      cost: { messages: item.kind === 'attributes' ? 1 : 0, telemetryMessages: 1, datapoints: c.datapoints },
      devices: [item.device],
    };
  });
  return {
    group: {
      fromId: item.id,
      toId: item.id,
      count: 1,
      // Nothing left to send still removes the record (every value was dropped, and counted).
      publishes,
      telemetryDatapoints: item.kind === 'telemetry' ? datapoints : 0,
      attributeDatapoints: item.kind === 'attributes' ? datapoints : 0,
    },
    dropped,
  };
}

function deviceEvent(r: StoredRecord, device: string): PackGroup {
  const name = JSON.stringify(device);
  const publish: Publish =
    r.kind === 'connect'
      ? {
          topic: TOPIC.connect,
          payload: `{"device":${name},"type":${JSON.stringify(connectType(r.body))}}`,
          cost: { messages: 1, telemetryMessages: 0, datapoints: 0 },
          session: { device, open: true },
        }
      : {
          topic: TOPIC.disconnect,
          payload: `{"device":${name}}`,
          cost: { messages: 1, telemetryMessages: 0, datapoints: 0 },
          session: { device, open: false },
        };
  return {
    fromId: r.id,
    toId: r.id,
    count: 1,
    publishes: [publish],
    telemetryDatapoints: 0,
    attributeDatapoints: 0,
  };
}

function connectType(body: string): string {
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === 'string' ? type : 'default';
  } catch {
    return 'default';
  }
}

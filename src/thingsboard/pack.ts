/**
 * Packing outbox records into few ThingsBoard gateway-API publishes. Consecutive records of one
 * kind share a publish while it stays under the size cap; order is kept per device (a device's
 * telemetry entries stay in append order inside its array). Bodies are already JSON text, so a
 * pack is assembled by concatenation, never re-parsed.
 */
import type { StoredRecord } from '../outbox/types.js';

export const TOPIC = {
  telemetry: 'v1/gateway/telemetry',
  attributes: 'v1/gateway/attributes',
  connect: 'v1/gateway/connect',
  disconnect: 'v1/gateway/disconnect',
  rpc: 'v1/gateway/rpc',
} as const;

export interface Pack {
  topic: string;
  payload: string;
  /** The pack covers every outbox record with fromId <= id <= toId. */
  fromId: number;
  toId: number;
  count: number;
}

/** Packs `records` (ascending ids, as read from the outbox) into publishes of at most `maxBytes`. */
export function packRecords(records: readonly StoredRecord[], maxBytes: number): Pack[] {
  const packs: Pack[] = [];
  let i = 0;
  while (i < records.length) {
    const first = records[i] as StoredRecord;
    if (first.kind === 'connect' || first.kind === 'disconnect') {
      packs.push(single(first));
      i++;
      continue;
    }
    // Group this run of telemetry (or attributes) records by device, in order of first appearance.
    const byDevice = new Map<string, string[]>();
    let size = 2;
    let j = i;
    while (j < records.length) {
      const r = records[j] as StoredRecord;
      if (r.kind !== first.kind) break;
      const bodies = byDevice.get(r.device);
      // Attributes of one device are not merged by text: a repeat starts a new pack.
      if (r.kind === 'attributes' && bodies) break;
      const added = r.body.length + 1 + (bodies ? 0 : JSON.stringify(r.device).length + 3);
      if (j > i && size + added > maxBytes) break;
      size += added;
      if (bodies) bodies.push(r.body);
      else byDevice.set(r.device, [r.body]);
      j++;
    }
    const parts: string[] = [];
    for (const [device, bodies] of byDevice) {
      const key = JSON.stringify(device);
      parts.push(first.kind === 'telemetry' ? `${key}:[${bodies.join(',')}]` : `${key}:${bodies[0] ?? '{}'}`);
    }
    const last = records[j - 1] as StoredRecord;
    packs.push({
      topic: first.kind === 'telemetry' ? TOPIC.telemetry : TOPIC.attributes,
      payload: `{${parts.join(',')}}`,
      fromId: first.id,
      toId: last.id,
      count: j - i,
    });
    i = j;
  }
  return packs;
}

function single(r: StoredRecord): Pack {
  const device = JSON.stringify(r.device);
  const payload =
    r.kind === 'connect'
      ? `{"device":${device},"type":${JSON.stringify((JSON.parse(r.body) as { type?: string }).type ?? 'default')}}`
      : `{"device":${device}}`;
  return {
    topic: r.kind === 'connect' ? TOPIC.connect : TOPIC.disconnect,
    payload,
    fromId: r.id,
    toId: r.id,
    count: 1,
  };
}

import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/outbox/types.js';
import { packRecords } from '../../src/thingsboard/pack.js';

let nextId = 1;
function rec(kind: StoredRecord['kind'], device: string, body: unknown): StoredRecord {
  return { id: nextId++, kind, device, body: JSON.stringify(body), createdAt: 0 };
}

function payloads(groups: ReturnType<typeof packRecords>): [string, unknown][] {
  return groups.flatMap((g) => g.publishes.map((p): [string, unknown] => [p.topic, JSON.parse(p.payload)]));
}

describe('packing outbox records into gateway-API publishes', () => {
  it('packs telemetry and attributes of several devices into one group of two publishes, order kept per device', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('telemetry', 'A', { ts: 1, values: { v: 1 } }),
        rec('attributes', 'A', { fw: '1.0' }),
        rec('telemetry', 'B', { ts: 1, values: { v: 2 } }),
        rec('attributes', 'A', { fw: '1.1', hw: 'x' }),
        rec('telemetry', 'A', { ts: 2, values: { v: 3 } }),
      ],
      65536,
    );
    expect(groups.map((g) => [g.fromId, g.toId, g.count])).toEqual([[1, 5, 5]]);
    expect(payloads(groups)).toEqual([
      [
        'v1/gateway/telemetry',
        {
          A: [
            { ts: 1, values: { v: 1 } },
            { ts: 2, values: { v: 3 } },
          ],
          B: [{ ts: 1, values: { v: 2 } }],
        },
      ],
      // Later attribute values of a device override earlier ones.
      ['v1/gateway/attributes', { A: { fw: '1.1', hw: 'x' } }],
    ]);
  });

  it('keeps connect and disconnect ordered against the data around them', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('connect', 'A', { type: 'wallbox' }),
        rec('attributes', 'A', { fw: '1.0' }),
        rec('telemetry', 'A', { ts: 5, values: { e: 1 } }),
        rec('disconnect', 'A', {}),
        rec('telemetry', 'A', { ts: 6, values: { e: 2 } }),
      ],
      65536,
    );
    expect(groups.map((g) => [g.fromId, g.toId])).toEqual([
      [1, 1],
      [2, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(payloads(groups)).toEqual([
      ['v1/gateway/connect', { device: 'A', type: 'wallbox' }],
      ['v1/gateway/telemetry', { A: [{ ts: 5, values: { e: 1 } }] }],
      ['v1/gateway/attributes', { A: { fw: '1.0' } }],
      ['v1/gateway/disconnect', { device: 'A' }],
      ['v1/gateway/telemetry', { A: [{ ts: 6, values: { e: 2 } }] }],
    ]);
  });

  it('splits at the payload size cap and covers every id exactly once, in order', () => {
    nextId = 1;
    const records = Array.from({ length: 100 }, (_, i) =>
      i % 3 === 0
        ? rec('attributes', `D${i % 7}`, { a: i })
        : rec('telemetry', `D${i % 7}`, { ts: i, values: { v: i } }),
    );
    const groups = packRecords(records, 1024);
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) for (const p of g.publishes) expect(p.payload.length).toBeLessThanOrEqual(1024);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(100);
    expect(groups[0]?.fromId).toBe(1);
    for (let i = 1; i < groups.length; i++) expect(groups[i]?.fromId).toBe((groups[i - 1]?.toId ?? 0) + 1);
    const values = payloads(groups)
      .filter(([t]) => t === 'v1/gateway/telemetry')
      .flatMap(([, p]) => Object.values(p as Record<string, { values: { v: number } }[]>).flat())
      .map((e) => e.values.v);
    expect(values).toHaveLength(66);
  });

  it('puts a single record bigger than the cap in a group of its own', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('telemetry', 'A', { ts: 1, values: { big: 'x'.repeat(2000) } }),
        rec('telemetry', 'A', { ts: 2, values: {} }),
      ],
      1024,
    );
    expect(groups.map((g) => g.count)).toEqual([1, 1]);
  });
});

import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/outbox/types.js';
import { packRecords } from '../../src/thingsboard/pack.js';

let nextId = 1;
function rec(kind: StoredRecord['kind'], device: string, body: unknown): StoredRecord {
  return { id: nextId++, kind, device, body: JSON.stringify(body), createdAt: 0 };
}

describe('packing outbox records into gateway-API publishes', () => {
  it('packs consecutive telemetry of several devices into one publish, order kept per device', () => {
    nextId = 1;
    const packs = packRecords(
      [
        rec('telemetry', 'A', { ts: 1, values: { v: 1 } }),
        rec('telemetry', 'B', { ts: 1, values: { v: 2 } }),
        rec('telemetry', 'A', { ts: 2, values: { v: 3 } }),
      ],
      65536,
    );
    expect(packs).toHaveLength(1);
    expect(packs[0]).toMatchObject({ topic: 'v1/gateway/telemetry', fromId: 1, toId: 3, count: 3 });
    expect(JSON.parse(packs[0]!.payload)).toEqual({
      A: [
        { ts: 1, values: { v: 1 } },
        { ts: 2, values: { v: 3 } },
      ],
      B: [{ ts: 1, values: { v: 2 } }],
    });
  });

  it('keeps record order across kinds: connect, then data, then disconnect', () => {
    nextId = 1;
    const packs = packRecords(
      [
        rec('connect', 'A', { type: 'wallbox' }),
        rec('attributes', 'A', { fw: '1.0' }),
        rec('telemetry', 'A', { ts: 5, values: { e: 1 } }),
        rec('disconnect', 'A', {}),
      ],
      65536,
    );
    expect(packs.map((p) => [p.topic, JSON.parse(p.payload)])).toEqual([
      ['v1/gateway/connect', { device: 'A', type: 'wallbox' }],
      ['v1/gateway/attributes', { A: { fw: '1.0' } }],
      ['v1/gateway/telemetry', { A: [{ ts: 5, values: { e: 1 } }] }],
      ['v1/gateway/disconnect', { device: 'A' }],
    ]);
  });

  it('starts a new attributes publish when a device repeats (later values must win in order)', () => {
    nextId = 1;
    const packs = packRecords([rec('attributes', 'A', { x: 1 }), rec('attributes', 'A', { x: 2 })], 65536);
    expect(packs.map((p) => JSON.parse(p.payload))).toEqual([{ A: { x: 1 } }, { A: { x: 2 } }]);
  });

  it('splits at the payload size cap and covers every id exactly once', () => {
    nextId = 1;
    const records = Array.from({ length: 100 }, (_, i) =>
      rec('telemetry', `D${i % 7}`, { ts: i, values: { v: i } }),
    );
    const packs = packRecords(records, 1024);
    expect(packs.length).toBeGreaterThan(1);
    for (const p of packs) expect(p.payload.length).toBeLessThanOrEqual(1024);
    expect(packs.reduce((n, p) => n + p.count, 0)).toBe(100);
    for (let i = 1; i < packs.length; i++) expect(packs[i]!.fromId).toBe(packs[i - 1]!.toId + 1);
  });
});

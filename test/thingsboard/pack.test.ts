import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/outbox/types.js';
import { countTelemetryValues, pack, packRecords } from '../../src/thingsboard/pack.js';

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

  it('drops a value that no publish can ever hold, and says which', () => {
    nextId = 1;
    const result = pack(
      [rec('telemetry', 'A', { ts: 1, values: { big: 'x'.repeat(2000), small: 1 } })],
      1024,
    );
    expect(result.dropped).toEqual([
      { id: 1, device: 'A', reason: 'value "big" alone is larger than a publish may be' },
    ]);
    expect(payloads(result.groups)).toEqual([
      ['v1/gateway/telemetry', { A: [{ ts: 1, values: { small: 1 } }] }],
    ]);
  });
});

describe('packing within session limits', () => {
  const telemetry = (device: string, n: number, ts = 1): StoredRecord => {
    const values: Record<string, number> = {};
    for (let k = 0; k < n; k++) values[`k${k}`] = k;
    return rec('telemetry', device, { ts, values });
  };

  it('never puts more datapoints or device entries in one publish than a window admits', () => {
    nextId = 1;
    const records = Array.from({ length: 40 }, (_, i) => telemetry(`D${i % 8}`, 3, i));
    const groups = packRecords(records, { maxBytes: 65536, maxDatapoints: 10, maxEntries: 2 });
    for (const g of groups) {
      for (const p of g.publishes) {
        expect(p.cost.datapoints).toBeLessThanOrEqual(10);
        expect(p.cost.telemetryMessages).toBeLessThanOrEqual(2);
        const body = JSON.parse(p.payload) as Record<string, { values: object }[]>;
        const dp = Object.values(body)
          .flat()
          .reduce((n, e) => n + Object.keys(e.values).length, 0);
        expect(dp).toBe(p.cost.datapoints);
        expect(Object.keys(body)).toHaveLength(p.cost.telemetryMessages);
      }
    }
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(40);
    expect(groups.reduce((n, g) => n + g.telemetryDatapoints, 0)).toBe(120);
  });

  it('splits one record with more datapoints than a window admits over publishes of one group', () => {
    nextId = 1;
    const [group, ...rest] = packRecords([telemetry('A', 25)], { maxBytes: 65536, maxDatapoints: 10 });
    expect(rest).toEqual([]);
    expect(group).toMatchObject({ fromId: 1, toId: 1, count: 1, telemetryDatapoints: 25 });
    expect(group?.publishes.map((p) => p.cost.datapoints)).toEqual([10, 10, 5]);
    const keys = group?.publishes.flatMap((p) =>
      (JSON.parse(p.payload) as { A: { ts: number; values: object }[] }).A.flatMap((e) => {
        expect(e.ts).toBe(1);
        return Object.keys(e.values);
      }),
    );
    expect(new Set(keys).size).toBe(25);
  });

  it('charges an attributes publish as telemetry and as messages, a connect as a message', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('connect', 'A', { type: 't' }),
        rec('attributes', 'A', { x: 1, y: 2 }),
        rec('attributes', 'B', { z: 3 }),
      ],
      65536,
    );
    expect(groups.flatMap((g) => g.publishes.map((p) => p.cost))).toEqual([
      { messages: 1, telemetryMessages: 0, datapoints: 0 },
      { messages: 2, telemetryMessages: 2, datapoints: 3 },
    ]);
  });

  it('names the devices a publish opens, closes or carries data of (for the implicit connects)', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('connect', 'A', { type: 't' }),
        rec('telemetry', 'A', { ts: 1, values: { v: 1 } }),
        rec('telemetry', 'B', { ts: 1, values: { v: 2 } }),
        rec('attributes', 'C', { z: 3 }),
        rec('disconnect', 'A', {}),
      ],
      65536,
    );
    expect(groups.flatMap((g) => g.publishes.map((p) => [p.topic, p.devices, p.session]))).toEqual([
      ['v1/gateway/connect', undefined, { device: 'A', open: true }],
      ['v1/gateway/telemetry', ['A', 'B'], undefined],
      ['v1/gateway/attributes', ['C'], undefined],
      ['v1/gateway/disconnect', undefined, { device: 'A', open: false }],
    ]);
  });

  it('counts the byte cap in UTF-8, as ThingsBoard does', () => {
    nextId = 1;
    const records = Array.from({ length: 20 }, (_, i) =>
      rec('telemetry', 'A', { ts: i, values: { v: '€'.repeat(20) } }),
    );
    for (const g of packRecords(records, 512)) {
      for (const p of g.publishes) expect(Buffer.byteLength(p.payload)).toBeLessThanOrEqual(512);
    }
  });

  it('publishes records of a renamed device under its new name', () => {
    nextId = 1;
    const groups = packRecords(
      [
        rec('connect', 'Old', { type: 't' }),
        telemetry('Old', 1),
        telemetry('New', 1, 2),
        rec('attributes', 'Old', { a: 1 }),
      ],
      { maxBytes: 65536, rename: (d) => (d === 'Old' ? 'New' : d) },
    );
    expect(payloads(groups)).toEqual([
      ['v1/gateway/connect', { device: 'New', type: 't' }],
      [
        'v1/gateway/telemetry',
        {
          New: [
            { ts: 1, values: { k0: 0 } },
            { ts: 2, values: { k0: 0 } },
          ],
        },
      ],
      ['v1/gateway/attributes', { New: { a: 1 } }],
    ]);
  });

  it('keeps "__proto__" an ordinary attribute key', () => {
    nextId = 1;
    const r: StoredRecord = {
      id: 1,
      kind: 'attributes',
      device: 'A',
      body: '{"__proto__":{"x":1},"b":2}',
      createdAt: 0,
    };
    const [group] = packRecords([r], 65536);
    expect(group?.publishes[0]?.payload).toBe('{"A":{"__proto__":{"x":1},"b":2}}');
  });
});

describe('counting the datapoints of a telemetry body without parsing it', () => {
  it.each([
    ['{"ts":1,"values":{}}', 0],
    ['{"ts":1,"values":{"a":1}}', 1],
    ['{"ts":1,"values":{"a":1,"b":"x,y","c":{"d":[1,2]}}}', 3],
    ['{"ts":1,"values":{"a\\",":1,"b":"}"}}', 2],
  ])('%s has %i', (body, n) => {
    expect(countTelemetryValues(body)).toBe(n);
    expect(Object.keys((JSON.parse(body) as { values: object }).values)).toHaveLength(n);
  });
});

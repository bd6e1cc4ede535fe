import { describe, expect, it } from 'vitest';
import { DeviceRenames, RENAMES_NAMESPACE } from '../../src/connector/renames.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';

async function renames(): Promise<{ r: DeviceRenames; state: MemoryStateStore }> {
  const state = new MemoryStateStore();
  await state.open();
  const r = new DeviceRenames(state, silentLogger());
  await r.load();
  return { r, state };
}

describe('devices renamed in ThingsBoard', () => {
  it('every earlier name resolves to the current one, and a restart remembers it', async () => {
    const { r, state } = await renames();
    await r.renamed('A', 'B');
    await r.renamed('B', 'C');
    expect(['A', 'B', 'C', 'D'].map((n) => r.resolve(n))).toEqual(['C', 'C', 'C', 'D']);
    const again = new DeviceRenames(state, silentLogger());
    await again.load();
    expect(again.resolve('A')).toBe('C');
    expect(Object.fromEntries(await state.listRecords(RENAMES_NAMESPACE))).toEqual({ A: 'C', B: 'C' });
  });

  it('renamed back to the first name, nothing is left to map', async () => {
    const { r, state } = await renames();
    await r.renamed('A', 'B');
    await r.renamed('B', 'A');
    expect(r.resolve('A')).toBe('A');
    expect(r.resolve('B')).toBe('A');
    expect((await state.listRecords(RENAMES_NAMESPACE)).get('A')).toBeUndefined();
  });

  it('deleted, what pointed at it is forgotten (the Python gateway does the same)', async () => {
    const { r } = await renames();
    await r.renamed('A', 'B');
    await r.deleted('B');
    expect(r.resolve('A')).toBe('A');
    expect(r.size).toBe(0);
  });

  it('"__proto__" is a device name like any other', async () => {
    const { r } = await renames();
    await r.renamed('__proto__', 'constructor');
    expect(r.resolve('__proto__')).toBe('constructor');
    expect(r.resolve('toString')).toBe('toString');
  });

  it('remembers at most its limit of earlier names, forgetting the oldest first, in the store too', async () => {
    const state = new MemoryStateStore();
    await state.open();
    const r = new DeviceRenames(state, silentLogger(), 3);
    for (const n of [1, 2, 3, 4, 5]) await r.renamed(`old${n}`, `new${n}`);
    expect(r.size).toBe(3);
    expect(['old1', 'old2', 'old3', 'old5'].map((n) => r.resolve(n))).toEqual([
      'old1',
      'old2',
      'new3',
      'new5',
    ]);
    expect([...(await state.listRecords(RENAMES_NAMESPACE)).keys()].sort()).toEqual(['old3', 'old4', 'old5']);
    // A store written under a larger limit is cut to this one at load.
    const smaller = new DeviceRenames(state, silentLogger(), 2);
    await smaller.load();
    expect(smaller.size).toBe(2);
    expect((await state.listRecords(RENAMES_NAMESPACE)).size).toBe(2);
  });
});

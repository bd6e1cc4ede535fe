import { describe, expect, it } from 'vitest';
import { IdRanges, type IdRange } from '../../src/outbox/id-ranges.js';

const r = (from: number, to: number): IdRange => ({ from, to });

describe('IdRanges.add', () => {
  it.each<[string, IdRange[], IdRange, IdRange[], IdRange[]]>([
    ['into nothing', [], r(5, 9), [r(5, 9)], [r(5, 9)]],
    ['disjoint after', [r(1, 3)], r(5, 9), [r(5, 9)], [r(1, 3), r(5, 9)]],
    ['disjoint before', [r(10, 12)], r(1, 3), [r(1, 3)], [r(1, 3), r(10, 12)]],
    ['adjacent on both sides', [r(1, 4), r(10, 12)], r(5, 9), [r(5, 9)], [r(1, 12)]],
    ['inside an existing one', [r(1, 10)], r(3, 4), [], [r(1, 10)]],
    ['overlapping the start', [r(5, 10)], r(1, 7), [r(1, 4)], [r(1, 10)]],
    ['overlapping the end', [r(5, 10)], r(8, 15), [r(11, 15)], [r(5, 15)]],
    ['around two', [r(3, 4), r(7, 8)], r(1, 10), [r(1, 2), r(5, 6), r(9, 10)], [r(1, 10)]],
  ])('%s', (_name, existing, added, uncovered, after) => {
    const set = new IdRanges();
    for (const e of existing) set.add(e.from, e.to);
    expect(set.add(added.from, added.to)).toEqual(uncovered);
    expect(set.ranges()).toEqual(after);
  });
});

describe('IdRanges lookups', () => {
  it('answers has and skip', () => {
    const set = new IdRanges();
    set.add(3, 5);
    set.add(8, 8);
    expect([2, 3, 5, 6, 8, 9].map((id) => set.has(id))).toEqual([false, true, true, false, true, false]);
    expect(set.skip(2)).toBe(5);
    expect(set.skip(3)).toBe(5);
    expect(set.skip(5)).toBe(5);
    expect(set.skip(7)).toBe(8);
    expect(set.skip(0)).toBe(0);
  });
});

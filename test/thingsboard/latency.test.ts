/** The publish latency histogram: Prometheus bucket semantics. */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/thingsboard/latency.js';

describe('LatencyHistogram', () => {
  it('counts each observation in every bucket whose bound it does not exceed', () => {
    const h = new LatencyHistogram([0.01, 0.1, 1]);
    for (const s of [0.005, 0.01, 0.05, 0.5, 2]) h.observe(s);
    expect(h.cumulative()).toEqual([
      { le: 0.01, count: 2 },
      { le: 0.1, count: 3 },
      { le: 1, count: 4 },
      { le: Infinity, count: 5 },
    ]);
    expect(h.count).toBe(5);
    expect(h.sum).toBeCloseTo(2.565);
    expect(h.quantile(0.5)).toBe(0.1);
    expect(h.quantile(1)).toBe(Infinity);
    expect(new LatencyHistogram().quantile(0.5)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { bytes2human, disk, memoryUsedPercent } from '../../src/gateway-device/machine.js';

describe('machine figures as the Python gateway writes them', () => {
  it.each([
    [100, '100.0B'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [8 * 1024 ** 3, '8.0G'],
    [7.6 * 1024 ** 4, '7.6T'],
  ])('bytes2human(%i) is %s', (n, text) => {
    expect(bytes2human(n)).toBe(text);
  });

  it('reads the disk and the memory in use', async () => {
    const d = await disk();
    expect(d?.total).toBeGreaterThan(0);
    expect(d?.percent).toBeGreaterThanOrEqual(0);
    expect(d?.percent).toBeLessThanOrEqual(100);
    const used = await memoryUsedPercent();
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(100);
  });
});

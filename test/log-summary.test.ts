import { describe, expect, it } from 'vitest';
import { LogSummary } from '../src/log-summary.js';
import { capturingLogger, manualClock } from './outbox/helpers.js';

describe('LogSummary', () => {
  it('logs the first occurrence, counts the rest of the interval, and reports them in one line', () => {
    const { logger, lines } = capturingLogger();
    const clock = manualClock(0);
    const summary = new LogSummary({ logger, intervalMs: 60_000, now: clock.now });
    for (let i = 0; i < 1000; i++) summary.warn('kind', { device: `d${i}` }, 'something happened');
    expect(lines).toHaveLength(1);
    summary.close();
    const logged = lines;
    expect(logged).toHaveLength(2);
    expect(logged[1]).toMatchObject({
      device: 'd999',
      repeated: 999,
      total: 1000,
      msg: 'something happened (999 more in the last 60 s)',
    });
  });

  it('keeps kinds apart and logs again once an interval passed without a summary pending', () => {
    const { logger, lines } = capturingLogger();
    const clock = manualClock(0);
    const summary = new LogSummary({ logger, intervalMs: 1000, now: clock.now });
    summary.warn('a', {}, 'A');
    summary.warn('b', {}, 'B');
    clock.advance(1500);
    summary.warn('a', {}, 'A');
    expect(lines.map((l) => l.msg)).toEqual(['A', 'B', 'A']);
    expect(summary.count('a')).toBe(2);
    summary.close();
  });
});

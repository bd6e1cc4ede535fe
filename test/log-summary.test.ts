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

  it('with a burst, logs the first occurrences in full, then one summary with samples of the rest', () => {
    const { logger, lines } = capturingLogger();
    const clock = manualClock(0);
    const summary = new LogSummary({
      logger,
      intervalMs: 60_000,
      now: clock.now,
      burst: 3,
      sampled: ['chargePointId', 'remoteAddress'],
    });
    for (let i = 0; i < 500; i++) {
      summary.warn('auth', { chargePointId: `CP_${i % 20}`, remoteAddress: '192.0.2.7' }, 'refused');
    }
    expect(lines.map((l) => l.chargePointId)).toEqual(['CP_0', 'CP_1', 'CP_2']);
    summary.close();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({
      msg: 'refused (497 more in the last 60 s)',
      repeated: 497,
      total: 500,
      samples: {
        chargePointId: ['CP_3', 'CP_4', 'CP_5', 'CP_6', 'CP_7', 'CP_8', 'CP_9', 'CP_10', 'CP_11', 'CP_12'],
        remoteAddress: ['192.0.2.7'],
      },
    });
  });

  it('a flood that goes on gives one line per interval; after a quiet interval the burst is logged again', () => {
    const { logger, lines } = capturingLogger();
    const clock = manualClock(0);
    const summary = new LogSummary({ logger, intervalMs: 1000, now: clock.now, burst: 2 });
    const minute = (n: number): void => {
      for (let i = 0; i < n; i++) summary.warn('k', {}, 'K');
    };
    minute(10); // 2 in full, 8 counted
    clock.advance(1000);
    minute(10); // the first interval's summary, then all 10 counted
    clock.advance(1000);
    minute(1);
    expect(lines.map((l) => l.msg)).toEqual([
      'K',
      'K',
      'K (8 more in the last 1 s)',
      'K (10 more in the last 1 s)',
    ]);
    clock.advance(1000);
    summary.close(); // the last one, then a quiet interval
    clock.advance(5000);
    minute(3);
    expect(lines.slice(5).map((l) => l.msg)).toEqual(['K', 'K']);
    expect(lines[4]?.msg).toBe('K (1 more in the last 1 s)');
  });
});

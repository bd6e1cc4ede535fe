import { afterEach, describe, expect, it, vi } from 'vitest';
import { OverflowWarning } from '../../src/outbox/overflow-warning.js';
import { capturingLogger, manualClock } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('OverflowWarning', () => {
  it('reports drops of a quiet tail once the minute is over, without a later drop', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = manualClock();
    const { logger, warnings } = capturingLogger();
    const warning = new OverflowWarning({ logger, maxRecordsCount: 7, now: clock.now });

    warning.dropped(2, 2);
    clock.advance(10_000);
    warning.dropped(3, 5);
    expect(warnings()).toHaveLength(1);

    clock.advance(49_999);
    vi.advanceTimersByTime(49_999);
    expect(warnings()).toHaveLength(1);
    clock.advance(1);
    vi.advanceTimersByTime(1);
    expect(warnings()).toEqual([
      'outbox full (max_records_count=7): dropped 2 oldest records in the last minute (total 2)',
      'outbox full (max_records_count=7): dropped 3 oldest records in the last minute (total 5)',
    ]);
    warning.close();
    expect(warnings()).toHaveLength(2);
  });

  it('does not keep the process alive', () => {
    const clock = manualClock();
    const { logger } = capturingLogger();
    const warning = new OverflowWarning({ logger, maxRecordsCount: 1, now: clock.now });
    warning.dropped(1, 1);
    warning.dropped(1, 2);
    const timer = (warning as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
    warning.close();
  });
});

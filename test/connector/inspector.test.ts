import { describe, expect, it } from 'vitest';
import { ConnectionInspector, MAX_TRACES } from '../../src/connector/inspector.js';
import { ErrorCodes, GatewayError } from '../../src/errors.js';
import { capturingLogger, manualClock } from '../outbox/helpers.js';

function anInspector(): { inspector: ConnectionInspector; clock: ReturnType<typeof manualClock> } {
  const clock = manualClock(0);
  const inspector = new ConnectionInspector({
    connector: 'c',
    live: new Map(),
    identityOf: (id) => ({ name: id, type: 'default' }),
    logger: capturingLogger().logger,
    now: () => new Date(clock.now()),
  });
  return { inspector, clock };
}

describe('frame traces (asked for by id over HTTP)', () => {
  it(`hold at most ${MAX_TRACES} ids at once, any id, connected or not`, () => {
    const { inspector } = anInspector();
    for (let i = 0; i < MAX_TRACES; i++) inspector.trace(`id-${i}`, 60);
    expect(() => inspector.trace('one-more', 60)).toThrow(GatewayError);
    expect(() => inspector.trace('one-more', 60)).toThrow(
      expect.objectContaining({ code: ErrorCodes.TRACE_LIMIT }) as Error,
    );
    expect(inspector.tracedUntil('one-more')).toBeUndefined();
    // Prolonging a trace, and stopping one, are always possible; a stopped one frees its place.
    expect(inspector.trace('id-0', 120)).toEqual(new Date(120 * 60_000));
    expect(inspector.trace('id-1', 0)).toBeUndefined();
    expect(inspector.trace('one-more', 60)).toEqual(new Date(60 * 60_000));
  });

  it('ended traces give their places back', () => {
    const { inspector, clock } = anInspector();
    for (let i = 0; i < MAX_TRACES; i++) inspector.trace(`id-${i}`, 1);
    clock.advance(60_000);
    expect(() => inspector.trace('later', 1)).not.toThrow();
  });
});

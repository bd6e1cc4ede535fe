/** `simulate` options: the contract's four, the extras, and one clear line per bad value. */
import { describe, expect, it } from 'vitest';
import { parseSimulateOptions, type RawSimulateOptions } from '../../src/simulator/options.js';

function raw(overrides: Partial<RawSimulateOptions> = {}): RawSimulateOptions {
  return {
    url: 'ws://127.0.0.1:9000/site/CP',
    count: '1',
    ocpp: '1.6',
    duration: '0',
    rate: '10',
    first: '1',
    connectors: '2',
    idle: '10-40',
    session: '60-180',
    meterInterval: '10',
    seed: '1',
    progress: '10',
    ...overrides,
  };
}

describe('parseSimulateOptions', () => {
  it('reads the contract options', () => {
    const parsed = parseSimulateOptions(raw({ count: '5', ocpp: '2.0.1', duration: '30' }));
    expect(parsed).toMatchObject({
      ok: true,
      options: { url: 'ws://127.0.0.1:9000/site/CP', count: 5, version: 'ocpp2.0.1', durationSeconds: 30 },
    });
  });

  it.each([
    ['2.1', 'ocpp2.1'],
    ['ocpp1.6', 'ocpp1.6'],
    ['1.6', 'ocpp1.6'],
  ])('--ocpp %s is %s', (ocpp, version) => {
    expect(parseSimulateOptions(raw({ ocpp }))).toMatchObject({ ok: true, options: { version } });
  });

  it('reads --id-tags as a list (none: random cards)', () => {
    expect(parseSimulateOptions(raw({ idTags: 'GOOD0001, BLOCKED01,' }))).toMatchObject({
      ok: true,
      options: { idTags: ['GOOD0001', 'BLOCKED01'] },
    });
    expect(parseSimulateOptions(raw())).toMatchObject({ ok: true, options: { idTags: [] } });
  });

  it('reads ranges and a single number as a range', () => {
    expect(parseSimulateOptions(raw({ idle: '5', session: '30-90' }))).toMatchObject({
      ok: true,
      options: { idleSeconds: [5, 5], sessionSeconds: [30, 90] },
    });
  });

  it.each([
    [{ url: 'http://x/CP' }, '--url'],
    [{ url: 'ws://x/CP?a=1' }, '--url'],
    [{ count: '0' }, '--count'],
    [{ count: 'ten' }, '--count'],
    [{ ocpp: '2.0' }, '--ocpp'],
    [{ ocpp: '__proto__' }, '--ocpp'],
    [{ duration: '-1' }, '--duration'],
    [{ idle: '40-10' }, '--idle'],
    [{ connectors: '1000' }, '--connectors'],
    [{ idTags: ' , ' }, '--id-tags'],
    [{ idTags: 'A'.repeat(21) }, '--id-tags'],
    [{ idTags: 'GOOD 1' }, '--id-tags'],
  ] as [Partial<RawSimulateOptions>, string][])('%j is refused naming %s', (bad, option) => {
    const parsed = parseSimulateOptions(raw(bad));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.join('\n')).toContain(option);
  });
});

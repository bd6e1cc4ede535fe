/** A mapping entry's `type`, and 1.6 sampled values as numbers. */
import { describe, expect, it } from 'vitest';
import { convertValue, withNumericSampledValues } from '../../src/connector/value-types.js';

describe('convertValue', () => {
  it.each([
    ['string', 12.5, '12.5'],
    ['string', { a: 1 }, '{"a":1}'],
    ['double', '28.24', 28.24],
    ['double', ' 1e3 ', 1000],
    ['double', true, 1],
    ['long', '7.9', 7],
    ['integer', -7.9, -7],
    ['boolean', 'TRUE', true],
    ['boolean', '0', false],
    ['boolean', 1, true],
    ['json', '{"a":[1,2]}', { a: [1, 2] }],
    ['json', 5, 5],
  ] as const)('%s from %j → %j', (type, value, expected) => {
    expect(convertValue(type, value)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['double', 'high'],
    ['double', '0x10'],
    ['double', 'Infinity'],
    ['double', null],
    ['long', '9'.repeat(20)],
    ['boolean', 'yes'],
    ['boolean', 2],
    ['json', '{broken'],
  ] as const)('%s from %j cannot be converted', (type, value) => {
    expect(convertValue(type, value)).toEqual({ ok: false });
  });

  it('json text nested deeper than the bound is not converted (it could not be serialised again)', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(convertValue('json', nested(8), 8)).toEqual({ ok: true, value: JSON.parse(nested(8)) });
    expect(convertValue('json', nested(9), 8)).toEqual({ ok: false });
    expect(convertValue('json', nested(100_000))).toEqual({ ok: false });
  });
});

describe('withNumericSampledValues', () => {
  it('makes numeric 1.6 sampled values numbers, leaving the rest (and the original) alone', () => {
    const payload = {
      connectorId: 1,
      meterValue: [
        {
          timestamp: 't',
          sampledValue: [
            { value: '28.24' },
            { value: '-3' },
            { value: '1.5E2' },
            { value: ' 5' },
            { value: 'abc' },
            { value: '0012' },
            { value: '12', format: 'SignedData' },
            // A number JSON cannot carry: kept as the text it came as.
            { value: '1e309' },
          ],
        },
      ],
    };
    const copy = withNumericSampledValues('MeterValues', payload);
    expect(
      (copy.meterValue as { sampledValue: { value: unknown }[] }[])[0]?.sampledValue.map((s) => s.value),
    ).toEqual([28.24, -3, 150, ' 5', 'abc', '0012', '12', '1e309']);
    expect(payload.meterValue[0]?.sampledValue[0]?.value).toBe('28.24');
  });

  it('converts StopTransaction transactionData, and nothing in other actions', () => {
    const stop = withNumericSampledValues('StopTransaction', {
      transactionData: [{ sampledValue: [{ value: '10' }] }],
    });
    expect(stop).toEqual({ transactionData: [{ sampledValue: [{ value: 10 }] }] });
    const other = { meterValue: [{ sampledValue: [{ value: '10' }] }] };
    expect(withNumericSampledValues('DataTransfer', other)).toBe(other);
  });
});

import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, valueDepthExceeds } from '../src/json-depth.js';
import { parseTimestamp } from '../src/connector/timestamp.js';
import { RawJsonNumber, rawNumberAt, rpcReplyPayload } from '../src/thingsboard/rpc-id.js';
import { compileLinearPattern } from '../src/config/linear-regexp.js';

describe('jsonDepthExceeds', () => {
  it.each([
    ['[[1]]', 2, false],
    ['[[[1]]]', 2, true],
    ['{"a":{"b":[]}}', 3, false],
    ['{"a":{"b":[{}]}}', 3, true],
    ['["[[[[[[", "\\"[[[["]', 1, false],
    ['["\\\\", [[[]]]]', 3, true],
    ['[' + '{"a":'.repeat(100) + '1' + '}'.repeat(100) + ']', 64, true],
  ])('%s deeper than %i: %s', (text, max, expected) => {
    expect(jsonDepthExceeds(text, max)).toBe(expected);
    expect(valueDepthExceeds(JSON.parse(text), max)).toBe(expected);
  });
});

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-23T10:00:00.000Z', Date.UTC(2026, 10, 23, 10)],
    ['2016-12-31T23:59:60Z', Date.UTC(2016, 11, 31, 23, 59, 59, 999)],
    ['2016-12-31T23:59:60.5+00:00', Date.UTC(2016, 11, 31, 23, 59, 59, 999)],
    ['2015-07-01T01:59:60+02:00', Date.UTC(2015, 5, 30, 23, 59, 59, 999)],
    ['not a time', undefined],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });
});

describe('RPC ids as ThingsBoard wrote them', () => {
  it.each([
    ['{"device":"A","data":{"id":1e400,"method":"m"}}', '1e400'],
    ['{"data":{"x":{"id":5},"id":18446744073709551617},"device":"A"}', '18446744073709551617'],
    ['{"device":"A","data":{"id":1,"id":-2E+999}}', '-2E+999'],
    ['{"device":"A","data":{"id":"s"}}', undefined],
  ])('%s → %s', (text, raw) => {
    expect(rawNumberAt(text, ['data', 'id'])).toBe(raw);
  });

  it('writes a kept id back verbatim, and an error when the result cannot be serialised', () => {
    expect(rpcReplyPayload('A', new RawJsonNumber('1e400'), { result: 1 })).toBe(
      '{"device":"A","id":1e400,"data":{"result":1}}',
    );
    const deep: unknown[] = [];
    let node = deep;
    for (let i = 0; i < 20_000; i++) node.push((node = []));
    expect(JSON.parse(rpcReplyPayload('A', 7, { result: deep }))).toEqual({
      device: 'A',
      id: 7,
      data: { error: 'the result could not be serialised' },
    });
  });

  it('answers an error instead of writing a number JSON cannot carry as null (1e309 from a station)', () => {
    const fromStation = JSON.parse('{"status":"Accepted","values":[1,1e309]}') as unknown;
    expect(JSON.parse(rpcReplyPayload('A', 8, fromStation))).toEqual({
      device: 'A',
      id: 8,
      data: { error: 'the result holds a number JSON cannot carry (at 1, e.g. 1e309)' },
    });
    expect(JSON.parse(rpcReplyPayload('A', 9, { result: -Infinity }))).toEqual({
      device: 'A',
      id: 9,
      data: { error: 'the result holds a number JSON cannot carry (at result, e.g. 1e309)' },
    });
    // Finite numbers are written as before.
    expect(rpcReplyPayload('A', 10, { n: 1.5e308 })).toBe('{"device":"A","id":10,"data":{"n":1.5e+308}}');
  });
});

describe('id patterns', () => {
  it.each(['auto', 'backtracking'] as const)(
    'linear engine %s: whole-id matching, and exponential patterns refused or safe',
    (engine) => {
      const ok = compileLinearPattern('cp/[0-9]+', engine);
      expect(ok.ok && ok.regexp.test('cp/12') && !ok.regexp.test('cp/12x')).toBe(true);
      const nested = compileLinearPattern('cp/(a+)+', engine);
      if (engine === 'auto')
        expect(nested.ok && nested.regexp.test('cp/' + 'a'.repeat(50_000) + '!')).toBe(false);
      else expect(nested).toMatchObject({ ok: false, reason: expect.stringContaining('exponential time') });
      expect(compileLinearPattern('a)|(b', engine)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('invalid regular expression'),
      });
    },
  );
});

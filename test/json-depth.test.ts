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

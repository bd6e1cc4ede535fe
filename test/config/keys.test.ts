import { describe, expect, it } from 'vitest';
import { byType, checkKeys, levenshtein, suggestKey, type KeyRules } from '../../src/config/keys.js';

describe('suggestKey', () => {
  const keys = [
    'idRegexpPattern',
    'deviceNameExpression',
    'deviceTypeExpression',
    'attributes',
    'timeseries',
  ];
  it.each([
    ['idRegexPattern', 'did you mean "idRegexpPattern"?'],
    ['IdRegexpPattern', 'did you mean "idRegexpPattern"?'],
    ['IDREGEXPPATTERN', 'did you mean "idRegexpPattern"?'],
    ['deviceNameExpresion', 'did you mean "deviceNameExpression"?'],
    ['timeSeries', 'did you mean "timeseries"?'],
    ['attribute', 'did you mean "attributes"?'],
    ['rpc', `valid keys: ${keys.join(', ')}`],
  ])('%s → %s', (key, hint) => {
    expect(suggestKey(key, keys)).toBe(hint);
  });

  it('measures edits', () => {
    expect(levenshtein('hots', 'host')).toBe(2);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
  });
});

describe('checkKeys', () => {
  const rules: KeyRules = {
    known: ['list', 'conn'],
    ignored: ['legacy'],
    children: {
      list: { each: { known: ['a'], ignored: ['old'] } },
      conn: byType({ x: { known: ['type', 'xo'] }, y: { known: ['type', 'yo'] } }),
    },
  };

  it('walks objects, array items and typed variants', () => {
    const doc = {
      legacy: 1,
      list: [{ a: 1, old: 2, b: 3 }, 'not an object'],
      conn: { type: 'y', yo: 1, xo: 2 },
      extra: true,
    };
    const result = checkKeys(doc, rules);
    expect(result.ignored).toEqual([['legacy'], ['list', 0, 'old']]);
    expect(result.unknown.map((u) => [u.path, u.key])).toEqual([
      [['list', 0, 'b'], 'b'],
      [['conn', 'xo'], 'xo'],
      [['extra'], 'extra'],
    ]);
  });

  it('leaves values of the wrong shape and unknown types to the schema', () => {
    expect(checkKeys({ list: {}, conn: { type: 'z', q: 1 } }, rules)).toEqual({ ignored: [], unknown: [] });
    expect(checkKeys('text', rules)).toEqual({ ignored: [], unknown: [] });
  });
});

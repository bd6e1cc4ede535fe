import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/config/files.js';

describe('parseJson', () => {
  it('parses JSON, with or without a byte order mark', () => {
    expect(parseJson('{"a": [1, true, null, "x"]}')).toEqual({
      ok: true,
      value: { a: [1, true, null, 'x'] },
    });
    expect(parseJson('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ['', 'invalid JSON at line 1, column 1: the file is empty'],
    ['{"a": 1', 'invalid JSON at line 1, column 8: unexpected end of file, expected "," or "}"'],
    ['{\n  "a": 1,\n}', 'invalid JSON at line 3, column 1: trailing comma before "}"'],
    ['[1, 2,]', 'invalid JSON at line 1, column 7: trailing comma before "]"'],
    [
      "{'a': 1}",
      'invalid JSON at line 1, column 2: unexpected "\'", expected a property name in double quotes',
    ],
    ['{"a": \'x\'}', 'invalid JSON at line 1, column 7: strings must use double quotes'],
    ['{"a" 1}', 'invalid JSON at line 1, column 6: unexpected "1", expected ":"'],
    ['{"a": 1 "b": 2}', 'invalid JSON at line 1, column 9: unexpected \'"\', expected "," or "}"'],
    ['{"a": "x\ny"}', 'invalid JSON at line 1, column 9: line break or control character inside a string'],
    ['{"a": "\\q"}', 'invalid JSON at line 1, column 8: invalid escape sequence in a string'],
    ['{"a": "\\u12"}', 'invalid JSON at line 1, column 8: invalid \\u escape'],
    ['{"a": "x}', 'invalid JSON at line 1, column 7: unterminated string'],
    ['{"a": -}', 'invalid JSON at line 1, column 7: invalid number'],
    ['{"a": tru}', 'invalid JSON at line 1, column 7: unexpected "t", expected a value'],
    ['{} {}', 'invalid JSON at line 1, column 4: unexpected content after the end of the JSON document'],
  ])('%j: %s', (text, message) => {
    const result = parseJson(text);
    expect(result).toEqual({ ok: false, message: expect.stringContaining(message) });
  });
});

import { describe, expect, it } from 'vitest';
import { TemplateSyntaxError } from '../../src/errors.js';
import { compileTemplate, toCamelCase, toSnakeCase } from '../../src/expressions/template.js';
import type { RenderResult, TemplateMode } from '../../src/expressions/types.js';

const ok = (value: unknown, timestamp?: string): RenderResult => ({ ok: true, value, timestamp });
const miss = (missing: string): RenderResult => ({ ok: false, missing });

// OCPP 1.6 MeterValues.req
const aMeterValues = (overrides: Record<string, unknown> = {}) => ({
  connectorId: 1,
  transactionId: 5,
  meterValue: [
    {
      timestamp: '2026-01-01T00:00:00Z',
      sampledValue: [
        { value: '10', measurand: 'Voltage', phase: 'L1', unit: 'V' },
        { value: '16', measurand: 'Current.Import', phase: '', unit: 'A' },
        { value: '3680', measurand: 'Power.Active.Import', phase: 'L1', unit: 'W' },
      ],
    },
  ],
  ...overrides,
});
// OCPP 1.6 StopTransaction.req
const aStopTransaction = () => ({ meterStop: 5, timestamp: 'T', transactionId: 1 });
// OCPP 2.0.1 TransactionEvent.req (trimmed)
const aTransactionEvent = () => ({
  timestamp: 'A',
  meterValue: [
    {
      timestamp: 'B',
      sampledValue: [
        { value: 1.5, unitOfMeasure: { unit: 'kWh' } },
        { value: 230, unitOfMeasure: { unit: 'V' } },
      ],
    },
  ],
});
const twoSamples = { meterValue: [{ timestamp: 'T1', sampledValue: [{ value: '1' }, { value: '2' }] }] };
const people = {
  list: [
    { name: 'ann', age: 30, admin: true, note: null, tags: ['x'], meta: { kind: 'k1' } },
    { name: 'bob', age: 40, admin: false, score: -1.5, tags: ['y'], meta: { kind: 'k2' } },
    { name: 'cy}', age: 50, admin: false, note: 'n', tags: ['z'] },
  ],
};

type Case = [name: string, template: string, mode: TemplateMode, scope: unknown, expected: RenderResult];

const cases: Case[] = [
  // path forms
  ['top-level key', '${a}', 'text', { a: 1 }, ok(1)],
  ['$. root', '${$.a.b}', 'text', { a: { b: 'x' } }, ok('x')],
  ['$ root with bracket', "${$['a']}", 'text', { a: 2 }, ok(2)],
  ['$ root with index on an array scope', '${$[1]}', 'text', [5, 6], ok(6)],
  ['$ alone is the whole scope', '${$}', 'text', { a: 1 }, ok({ a: 1 })],
  ['leading bracket without root', '${[0].a}', 'text', [{ a: 'first' }], ok('first')],
  ['nested dots', '${a.b.c}', 'text', { a: { b: { c: 'deep' } } }, ok('deep')],
  ['index', '${a[1]}', 'text', { a: ['p', 'q', 'r'] }, ok('q')],
  ['index -1 is the last', '${a[-1]}', 'text', { a: ['p', 'q', 'r'] }, ok('r')],
  ['index -3 of 3 is the first', '${a[-3]}', 'text', { a: ['p', 'q', 'r'] }, ok('p')],
  ['[:] yields the first element that resolves', '${a[:].b}', 'text', { a: [{ c: 1 }, { b: 2 }] }, ok(2)],
  ['[*] on an array', '${a[*]}', 'text', { a: [7, 8] }, ok(7)],
  ['[*] on an object yields its first value', '${a[*]}', 'text', { a: { x: 'vx', y: 'vy' } }, ok('vx')],
  ['.* on an object', '${a.*.v}', 'text', { a: { x: { w: 1 }, y: { v: 'vy' } } }, ok('vy')],
  ['single-quoted key with dots and spaces', "${['odd key.x'].b}", 'text', { 'odd key.x': { b: 3 } }, ok(3)],
  ['double-quoted key', '${a["sp ace"]}', 'text', { a: { 'sp ace': 'yes' } }, ok('yes')],
  ['escaped quote in a quoted key', "${a['it\\'s']}", 'text', { a: { "it's": 4 } }, ok(4)],
  ['non-ASCII and dashes in a dot key', '${größe.x-y}', 'text', { größe: { 'x-y': 'ü' } }, ok('ü')],
  // key spelling
  [
    'snake_case expression on camelCase payload',
    '${meter_value[0].sampled_value[1].value}',
    'text',
    aMeterValues(),
    ok('16', '2026-01-01T00:00:00Z'),
  ],
  ['camelCase expression on snake_case data', '${connectorId}', 'text', { connector_id: 3 }, ok(3)],
  [
    'the key as written wins over its camelCase form',
    '${meter_value}',
    'text',
    { meter_value: 'snake', meterValue: 'camel' },
    ok('snake'),
  ],
  [
    'the key as written wins over its snake_case form',
    '${idTag}',
    'text',
    { id_tag: 'snake', idTag: 'camel' },
    ok('camel'),
  ],
  ['quoted keys get the same candidates', "${['transaction_id']}", 'text', { transactionId: 9 }, ok(9)],
  [
    'a null key value stops the candidate search',
    '${meter_value}',
    'text',
    { meter_value: null, meterValue: 1 },
    ok(null),
  ],
  // the seed document's expressions
  [
    'seed: meter_value[:].sampled_value[:].value',
    '${meter_value[:].sampled_value[:].value}',
    'text',
    twoSamples,
    ok('1', 'T1'),
  ],
  ['seed: connector_id', '${connector_id}', 'text', aMeterValues(), ok(1)],
  [
    'seed: data.temp (DataTransfer)',
    '${data.temp}',
    'text',
    { vendorId: 'v', data: { temp: 23.5 } },
    ok(23.5),
  ],
  ['seed: ${Vendor} ${Model}', '${Vendor} ${Model}', 'text', { Vendor: 'ACME', Model: 'X1' }, ok('ACME X1')],
  [
    'seed: attribute update valueExpression',
    '{"${attributeKey}":"${attributeValue}"}',
    'json',
    { attributeKey: 'shared', attributeValue: 'on"x' },
    ok('{"shared":"on\\"x"}'),
  ],
  ['seed: ${params}', '${params}', 'json', { params: { a: 1, b: [true] } }, ok({ a: 1, b: [true] })],
  // filters
  [
    "== 'string'",
    "${meter_value[0].sampled_value[?(@.measurand=='Voltage')].value}",
    'text',
    aMeterValues(),
    ok('10', '2026-01-01T00:00:00Z'),
  ],
  [
    '== "string" with spaces',
    '${meterValue[0].sampledValue[?( @.measurand == "Current.Import" )].unit}',
    'text',
    aMeterValues(),
    ok('A', '2026-01-01T00:00:00Z'),
  ],
  ['!= string', "${list[?(@.name != 'ann')].age}", 'text', people, ok(40)],
  ['< number', '${list[?(@.age < 40)].name}', 'text', people, ok('ann')],
  ['<= number includes the boundary', '${list[?(@.age <= 30)].name}', 'text', people, ok('ann')],
  ['> number', '${list[?(@.age > 40)].name}', 'text', people, ok('cy}')],
  ['>= number', '${list[?(@.age >= 40)].name}', 'text', people, ok('bob')],
  ['> string compares text', "${list[?(@.name > 'b')].age}", 'text', people, ok(40)],
  ['== true', '${list[?(@.admin == true)].name}', 'text', people, ok('ann')],
  ['== false', '${list[?(@.admin == false)].name}', 'text', people, ok('bob')],
  [
    '== null matches a JSON null, not a missing key',
    '${list[?(@.note == null)].name}',
    'text',
    people,
    ok('ann'),
  ],
  ['== negative decimal', '${list[?(@.score == -1.5)].name}', 'text', people, ok('bob')],
  ['exists and truthy', '${list[?(@.note)].name}', 'text', people, ok('cy}')],
  [
    'exists skips falsy values',
    '${a[?(@.p)].v}',
    'text',
    { a: [{ p: '', v: 1 }, { p: 0, v: 2 }, { v: 3 }, { p: 'x', v: 4 }] },
    ok(4),
  ],
  ['filter path with a nested key', "${list[?(@.meta.kind == 'k2')].name}", 'text', people, ok('bob')],
  ['filter path with an index', "${list[?(@.tags[0] == 'z')].name}", 'text', people, ok('cy}')],
  ['filter path with a quoted key', "${list[?(@['name'] == 'bob')].age}", 'text', people, ok(40)],
  ['} inside a filter string does not close', "${list[?(@.name == 'cy}')].age}", 'text', people, ok(50)],
  [
    'snake_case key inside a filter',
    "${meter_value[0].sampled_value[?(@.unit_of_measure.unit == 'V')].value}",
    'text',
    aTransactionEvent(),
    ok(230, 'B'),
  ],
  [
    'filter over an object\u2019s values',
    '${a[?(@.k == 2)].n}',
    'text',
    { a: { x: { k: 1, n: 'x' }, y: { k: 2, n: 'y' } } },
    ok('y'),
  ],
  ['filter then index', '${list[?(@.admin == false)].tags[0]}', 'text', people, ok('y')],
  ['@ alone compares the element itself', "${a[?(@ == 'q')]}", 'text', { a: ['p', 'q'] }, ok('q')],
  [
    '!= never matches an element without the field',
    '${list[?(@.score != 1)].name}',
    'text',
    people,
    ok('bob'),
  ],
  [
    'no coercion: a string never orders against a number',
    '${a[?(@.v > 1)].v}',
    'text',
    { a: [{ v: '5' }] },
    miss('a[?(@.v > 1)].v'),
  ],
  [
    'no filter match is missing',
    "${list[?(@.name == 'zed')].age}",
    'text',
    people,
    miss("list[?(@.name == 'zed')].age"),
  ],
  // result typing
  ['single placeholder keeps a boolean', '${b}', 'text', { b: false }, ok(false)],
  ['single placeholder keeps an object', '${o}', 'text', { o: { y: [1] } }, ok({ y: [1] })],
  ['single placeholder keeps an array', '${o}', 'text', { o: [1, 'a'] }, ok([1, 'a'])],
  ['mixed text: number', 'v=${n}', 'text', { n: 1.5 }, ok('v=1.5')],
  ['mixed text: string as-is', '"${s}"', 'text', { s: 'a"b' }, ok('"a"b"')],
  ['mixed text: object as JSON', 'v=${o}', 'text', { o: { a: 1 } }, ok('v={"a":1}')],
  ['mixed text: null and booleans as JSON', '${x}/${t}', 'text', { x: null, t: true }, ok('null/true')],
  ['constant text', 'hello', 'text', {}, ok('hello')],
  ['empty template', '', 'text', {}, ok('')],
  ['$ and braces without ${ are literal', '$ {a} $x }', 'text', { a: 1 }, ok('$ {a} $x }')],
  ['$${ is not special', '$${a}', 'text', { a: 1 }, ok('$1')],
  // json mode
  ['json: bare placeholder, string value', '{"a": ${x}}', 'json', { x: 's' }, ok('{"a": "s"}')],
  ['json: bare placeholder, object value', '{"a": ${x}}', 'json', { x: { y: 1 } }, ok('{"a": {"y":1}}')],
  ['json: bare placeholder, null', '[${x}]', 'json', { x: null }, ok('[null]')],
  [
    'json: object inside a string is escaped JSON text',
    '{"a":"${o}"}',
    'json',
    { o: { y: 1 } },
    ok('{"a":"{\\"y\\":1}"}'),
  ],
  ['json: number inside a string', '{"a":"n=${n}"}', 'json', { n: 2 }, ok('{"a":"n=2"}')],
  [
    'json: newline and backslash are escaped',
    '{"a":"${s}"}',
    'json',
    { s: 'l1\nl2\\' },
    ok('{"a":"l1\\nl2\\\\"}'),
  ],
  [
    'json: an escaped quote does not end the string',
    '{"a":"\\"${s}"}',
    'json',
    { s: 'q' },
    ok('{"a":"\\"q"}'),
  ],
  ['json: an escaped backslash does end it', '["\\\\",${s}]', 'json', { s: 'q' }, ok('["\\\\","q"]')],
  ['text mode never escapes', '{"a":"${s}"}', 'text', { s: 'o"k' }, ok('{"a":"o"k"}')],
  // missing
  ['missing key', '${nope}', 'text', { a: 1 }, miss('nope')],
  ['index out of range', '${a[3]}', 'text', { a: [1, 2, 3] }, miss('a[3]')],
  ['negative index out of range', '${a[-4]}', 'text', { a: [1, 2, 3] }, miss('a[-4]')],
  ['stepping into a number', '${a.b}', 'text', { a: 1 }, miss('a.b')],
  ['stepping into null', '${a.b}', 'text', { a: null }, miss('a.b')],
  ['key on an array', '${a.b}', 'text', { a: [{ b: 1 }] }, miss('a.b')],
  ['index on an object', '${a[0]}', 'text', { a: { '0': 1 } }, miss('a[0]')],
  ['wildcard on a string', '${a[*]}', 'text', { a: 'str' }, miss('a[*]')],
  ['wildcard on an empty array', '${a[:].b}', 'text', { a: [] }, miss('a[:].b')],
  ['undefined value', '${a}', 'text', { a: undefined }, miss('a')],
  ['Object.prototype is not reachable', '${constructor}', 'text', {}, miss('constructor')],
  ['non-object scope', '${a}', 'text', 'text', miss('a')],
  ['mixed template reports the placeholder that missed', '${a}-${b}', 'text', { a: 1 }, miss('b')],
  // timestamps
  [
    '1.6 MeterValues: sample timestamp',
    "${meter_value[0].sampled_value[?(@.measurand=='Voltage')].value}",
    'text',
    aMeterValues(),
    ok('10', '2026-01-01T00:00:00Z'),
  ],
  ['1.6 MeterValues: connector_id has none', '${connector_id}', 'text', aMeterValues(), ok(1)],
  ['1.6 StopTransaction: the message timestamp', '${meterStop}', 'text', aStopTransaction(), ok(5, 'T')],
  [
    '2.0.1 TransactionEvent: deepest wins',
    '${meterValue[0].sampledValue[0].value}',
    'text',
    aTransactionEvent(),
    ok(1.5, 'B'),
  ],
  ['2.0.1 TransactionEvent: ${timestamp}', '${timestamp}', 'text', aTransactionEvent(), ok('A', 'A')],
  [
    'a matched object\u2019s own timestamp counts',
    '${meterValue[0]}',
    'text',
    twoSamples,
    ok(twoSamples.meterValue[0], 'T1'),
  ],
  [
    'a non-string timestamp is ignored',
    '${a.b}',
    'text',
    { timestamp: 'outer', a: { timestamp: 7, b: 1 } },
    ok(1, 'outer'),
  ],
  [
    'mixed: the first placeholder that has one',
    '${connector_id}/${meter_value[0].sampled_value[0].value}',
    'text',
    aMeterValues(),
    ok('1/10', '2026-01-01T00:00:00Z'),
  ],
  [
    'mixed: an earlier placeholder wins',
    '${timestamp} ${meterValue[0].sampledValue[0].value}',
    'text',
    aTransactionEvent(),
    ok('A 1.5', 'A'),
  ],
];

describe('compileTemplate', () => {
  it.each(cases)('%s: %s', (_name, template, mode, scope, expected) => {
    expect(compileTemplate(template, mode).render(scope)).toStrictEqual(expected);
  });

  it('compiles once and renders many scopes', () => {
    const t = compileTemplate('${meter_value[:].sampled_value[:].value}@${connector_id}');
    expect(t.render(aMeterValues())).toStrictEqual(ok('10@1', '2026-01-01T00:00:00Z'));
    expect(t.render({ connectorId: 2, meterValue: [{ sampledValue: [{ value: '7' }] }] })).toStrictEqual(
      ok('7@2'),
    );
    expect(t.render({ connectorId: 2 })).toStrictEqual(miss('meter_value[:].sampled_value[:].value'));
  });

  it('describes its placeholders', () => {
    const mixed = compileTemplate('${Vendor} ${Model}');
    expect([mixed.source, mixed.placeholders, mixed.isSinglePlaceholder]).toStrictEqual([
      '${Vendor} ${Model}',
      ['Vendor', 'Model'],
      false,
    ]);
    const single = compileTemplate("${a[?(@.b=='}')]}");
    expect([single.placeholders, single.isSinglePlaceholder]).toStrictEqual([["a[?(@.b=='}')]"], true]);
    const constant = compileTemplate('default');
    expect([constant.placeholders, constant.isSinglePlaceholder]).toStrictEqual([[], false]);
  });
});

const syntaxErrors: [template: string, message: string, position: number][] = [
  ['${a', 'unclosed "${" at 0', 0],
  ["x ${a[?(@.b=='}')]", 'unclosed "${" at 2', 2],
  ["${a[?(@.x == 'y)]}", 'unclosed "${" at 0: the string opened at 13 is never closed', 0],
  ['ok ${}', 'empty placeholder at 3', 3],
  ['a ${a b}', 'unexpected " " at 5 in "${a b}"', 5],
  ['${ a}', 'expected a key at 2 in "${ a}"', 2],
  ['${a.}', 'expected a key at 4 in "${a.}"', 4],
  ['${.a}', 'expected a key at 2 in "${.a}"', 2],
  ['${$.}', 'expected a key at 4 in "${$.}"', 4],
  ['${a..b}', 'recursive descent ".." is not supported at 4 in "${a..b}"', 4],
  ['${a[}', 'expected an index, a quoted key, *, : or a filter at 4 in "${a[}"', 4],
  ['${a[1}', 'expected "]" at 5 in "${a[1}"', 5],
  ['${a[x]}', 'unexpected "x" at 4 in "${a[x]}"', 4],
  ['${a[-]}', 'expected digits at 5 in "${a[-]}"', 5],
  ['${a[1.5]}', 'an index must be an integer at 5 in "${a[1.5]}"', 5],
  ['${a[1:2]}', 'slices other than [:] are not supported at 5 in "${a[1:2]}"', 5],
  ['${a[?(@.x ~ 1)]}', 'bad filter "[?(@.x ~ 1)]" at 10: expected one of == != < <= > >= or ")"', 10],
  ['${a[?(@.x = 1)]}', 'bad filter "[?(@.x = 1)]" at 10: expected one of == != < <= > >= or ")"', 10],
  [
    '${a[?(@.x == )]}',
    `bad filter "[?(@.x == )]" at 13: expected a literal: 'text', "text", a number, true, false or null`,
    13,
  ],
  [
    '${a[?(@.x == yes)]}',
    `bad filter "[?(@.x == yes)]" at 13: expected a literal: 'text', "text", a number, true, false or null`,
    13,
  ],
  ['${a[?(x == 1)]}', 'bad filter "[?(x == 1)]" at 6: expected "@" but found "x"', 6],
  [
    '${a[?(@.* == 1)]}',
    'bad filter "[?(@.* == 1)]" at 8: wildcards and filters are not supported inside a filter',
    8,
  ],
  [
    '${a[?(@[*] == 1)]}',
    'bad filter "[?(@[*] == 1)]" at 8: wildcards and filters are not supported inside a filter',
    8,
  ],
  ['${a[?(@.x == 1]}', 'bad filter "[?(@.x == 1]" at 14: expected ")" but found "]"', 14],
  ['${a[?@.x == 1]}', 'bad filter "[?@.x == 1]" at 5: expected "(" but found "@"', 5],
];

describe('syntax errors', () => {
  it.each(syntaxErrors)('%s', (template, message, position) => {
    let caught: unknown;
    try {
      compileTemplate(template);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TemplateSyntaxError);
    expect(caught).toMatchObject({ message, position, code: 'TEMPLATE_SYNTAX' });
  });
});

describe('key spelling helpers', () => {
  it.each([
    ['meter_value', 'meterValue', 'meter_value'],
    ['connectorId', 'connectorId', 'connector_id'],
    ['HTTPServer', 'HTTPServer', 'http_server'],
    ['_private_x', '_privateX', '_private_x'],
    ['a__b_', 'a__b_', 'a__b_'],
    ['value2_x', 'value2X', 'value2_x'],
    ['Vendor', 'Vendor', 'vendor'],
  ])('%s → %s / %s', (key, camel, snake) => {
    expect([toCamelCase(key), toSnakeCase(key)]).toStrictEqual([camel, snake]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseFrame } from '../../src/ocpp/frames.js';
import { PayloadValidator } from '../../src/ocpp/validator.js';
import { OCPP_VERSIONS, spellError } from '../../src/ocpp/versions.js';

const v16 = OCPP_VERSIONS['ocpp1.6'];
const v201 = OCPP_VERSIONS['ocpp2.0.1'];
const v21 = OCPP_VERSIONS['ocpp2.1'];

describe('OCPP-J frame parsing', () => {
  it.each([
    ['a CALL', v16, '[2,"a","Heartbeat",{}]', { type: 2, id: 'a', action: 'Heartbeat', payload: {} }],
    ['a CALLRESULT', v16, '[3,"a",{"x":1}]', { type: 3, id: 'a', payload: { x: 1 } }],
    [
      'a CALLERROR',
      v16,
      '[4,"a","GenericError","oops",{}]',
      { type: 4, id: 'a', code: 'GenericError', description: 'oops', details: {} },
    ],
    [
      'a 2.1 SEND',
      v21,
      '[6,"s","NotifyPeriodicEventStream",{}]',
      { type: 6, id: 's', action: 'NotifyPeriodicEventStream', payload: {} },
    ],
    [
      'a 2.1 CALLRESULTERROR',
      v21,
      '[5,"a","GenericError","",{}]',
      { type: 5, id: 'a', code: 'GenericError', description: '', details: {} },
    ],
  ])('parses %s', (_what, spec, text, frame) => {
    expect(parseFrame(text, spec)).toEqual({ ok: true, frame });
  });

  it.each([
    ['not JSON', v16, 'nope', 'FormatViolation', undefined],
    ['not JSON (2.0.1)', v201, 'nope', 'RpcFrameworkError', undefined],
    ['not an array', v16, '{"a":1}', 'FormatViolation', undefined],
    ['a numeric id', v201, '[2,5,"Heartbeat",{}]', 'RpcFrameworkError', undefined],
    ['a type that is text', v201, '["2","x","Heartbeat",{}]', 'RpcFrameworkError', 'x'],
    ['an unknown type (1.6)', v16, '[7,"x",{}]', 'MessageTypeNotSupported', 'x'],
    ['an unknown type (2.0.1)', v201, '[7,"x",{}]', 'MessageTypeNotSupported', 'x'],
    ['SEND in 2.0.1', v201, '[6,"x","A",{}]', 'MessageTypeNotSupported', 'x'],
    [
      'an id of 37 characters',
      v201,
      `[2,"${'x'.repeat(37)}","Heartbeat",{}]`,
      'RpcFrameworkError',
      undefined,
    ],
    ['a CALL with 3 elements', v16, '[2,"x","Heartbeat"]', 'FormatViolation', 'x'],
    ['a CALL whose payload is an array', v16, '[2,"x","Heartbeat",[]]', 'FormatViolation', 'x'],
  ])('refuses %s', (_what, spec, text, kind, id) => {
    const r = parseFrame(text, spec);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problem.kind).toBe(kind);
      expect(r.problem.id).toBe(id);
    }
  });

  it('accepts a message id of exactly 36 characters', () => {
    expect(parseFrame(`[2,"${'x'.repeat(36)}","Heartbeat",{}]`, v16).ok).toBe(true);
  });
});

describe('error code spelling per version', () => {
  it.each([
    [v16, 'FormatViolation', 'FormationViolation'],
    [v16, 'OccurrenceConstraintViolation', 'OccurenceConstraintViolation'],
    [v16, 'RpcFrameworkError', 'FormationViolation'],
    [v201, 'FormatViolation', 'FormatViolation'],
    [v201, 'OccurrenceConstraintViolation', 'OccurrenceConstraintViolation'],
    [v21, 'MessageTypeNotSupported', 'MessageTypeNotSupported'],
  ] as const)('%s spells %s as %s', (spec, kind, wire) => {
    expect(spellError(spec, kind)).toBe(wire);
  });
});

describe('payload validation maps schema failures to OCPP-J error kinds', () => {
  const validator = new PayloadValidator(v16);
  it.each([
    [
      'a missing required field',
      'BootNotification',
      { chargePointVendor: 'A' },
      'OccurrenceConstraintViolation',
    ],
    [
      'a wrong type',
      'StatusNotification',
      { connectorId: 'x', errorCode: 'NoError', status: 'Available' },
      'TypeConstraintViolation',
    ],
    [
      'a value too long',
      'BootNotification',
      { chargePointVendor: 'x'.repeat(21), chargePointModel: 'M' },
      'FormatViolation',
    ],
    ['an unknown property', 'Heartbeat', { x: 1 }, 'PropertyConstraintViolation'],
    [
      'a value outside an enum',
      'StatusNotification',
      { connectorId: 1, errorCode: 'NoError', status: 'Dancing' },
      'PropertyConstraintViolation',
    ],
    [
      'a bad date-time',
      'StartTransaction',
      { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: 'yesterday' },
      'FormatViolation',
    ],
  ])('%s', (_what, action, payload, kind) => {
    expect(validator.validateRequest(action, payload)?.kind).toBe(kind);
  });

  it('accepts a valid payload', () => {
    expect(validator.validateRequest('Heartbeat', {})).toBeUndefined();
  });

  it.each(['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const)(
    '%s has request and response schemas for every action in its table',
    (v) => {
      const spec = OCPP_VERSIONS[v];
      const val = new PayloadValidator(spec);
      const missing = [...spec.chargePointActions, ...spec.centralSystemActions].filter(
        (a) => !val.hasRequestSchema(a),
      );
      expect(missing).toEqual([]);
    },
  );
});

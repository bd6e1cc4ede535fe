/**
 * OCPP-J message frames (OCPP-J 1.6 §4; OCPP 2.0.1/2.1 part 4 §4): the checklist of
 * parse JSON → array → message type id → message id → per-type shape.
 */
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthExceeds } from '../json-depth.js';
import type { OcppErrorKind } from './errors.js';
import { MAX_MESSAGE_ID_LENGTH, type OcppVersionSpec } from './versions.js';

export const CALL = 2;
export const CALLRESULT = 3;
export const CALLERROR = 4;
/** OCPP 2.1 only. */
export const CALLRESULTERROR = 5;
export const SEND = 6;

export type CallFrame = [typeof CALL, string, string, Record<string, unknown>];
export type CallResultFrame = [typeof CALLRESULT, string, unknown];
export type CallErrorFrame = [typeof CALLERROR, string, string, string, Record<string, unknown>];

export type Frame =
  | { type: typeof CALL; id: string; action: string; payload: Record<string, unknown> }
  | { type: typeof SEND; id: string; action: string; payload: Record<string, unknown> }
  | { type: typeof CALLRESULT; id: string; payload: unknown }
  | {
      type: typeof CALLERROR | typeof CALLRESULTERROR;
      id: string;
      code: string;
      description: string;
      details: unknown;
    };

export interface FrameProblem {
  kind: OcppErrorKind;
  message: string;
  /** The message id when it could be read (and is acceptable to echo). */
  id: string | undefined;
  /** The message type id when it could be read. */
  type: number | undefined;
}

export type ParseResult = { ok: true; frame: Frame } | { ok: false; problem: FrameProblem };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `maxDepth` bounds the nesting of the whole frame (its array counts as one level): a deeper frame
 * is a FormatViolation, answered with its message id when that can be read.
 */
export function parseFrame(
  text: string,
  spec: OcppVersionSpec,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail(spec.frameErrorKind, 'frame is not valid JSON', undefined, undefined);
  }
  if (jsonDepthExceeds(text, maxDepth)) {
    // Parsed only to read the id and type (JSON.parse is iterative); the value itself is dropped
    // before anything recursive can see it.
    const head = Array.isArray(raw) ? (raw as unknown[]) : [];
    const id = typeof head[1] === 'string' && head[1].length <= MAX_MESSAGE_ID_LENGTH ? head[1] : undefined;
    return fail(
      'FormatViolation',
      `frame nests deeper than ${maxDepth} levels`,
      id,
      numberOrUndefined(head[0]),
    );
  }
  if (!Array.isArray(raw) || raw.length < 3) {
    const id = Array.isArray(raw) && typeof raw[1] === 'string' ? raw[1] : undefined;
    const type = Array.isArray(raw) ? numberOrUndefined(raw[0]) : undefined;
    return fail(spec.frameErrorKind, 'frame is not an OCPP-J array of at least 3 elements', id, type);
  }
  const [type, id] = raw as [unknown, unknown];
  if (typeof id !== 'string') {
    return fail(spec.frameErrorKind, 'message id is not a string', undefined, numberOrUndefined(type));
  }
  if (typeof type !== 'number')
    return fail(spec.frameErrorKind, 'message type id is not a number', id, undefined);
  if (id.length > MAX_MESSAGE_ID_LENGTH) {
    // The id is unusable as a correlation key, so it is not echoed (answered as "-1" where the version answers).
    return fail(
      spec.frameErrorKind,
      `message id is longer than ${MAX_MESSAGE_ID_LENGTH} characters`,
      undefined,
      type,
    );
  }
  switch (type) {
    case CALL:
    case SEND: {
      if (type === SEND && !spec.extraMessageTypes.has(SEND)) break;
      const [, , action, payload] = raw as unknown[];
      if (raw.length !== 4 || typeof action !== 'string') {
        return fail(spec.frameErrorKind, 'CALL must be [2, id, action, payload]', id, type);
      }
      if (!isPlainObject(payload)) {
        return fail('FormatViolation', 'CALL payload must be a JSON object', id, type);
      }
      return { ok: true, frame: { type, id, action, payload } };
    }
    case CALLRESULT:
      if (raw.length !== 3) return fail(spec.frameErrorKind, 'CALLRESULT must be [3, id, payload]', id, type);
      return { ok: true, frame: { type, id, payload: raw[2] } };
    case CALLERROR:
    case CALLRESULTERROR: {
      if (type === CALLRESULTERROR && !spec.extraMessageTypes.has(CALLRESULTERROR)) break;
      const [, , code, description, details] = raw as unknown[];
      if (raw.length !== 5 || typeof code !== 'string' || typeof description !== 'string') {
        return fail(spec.frameErrorKind, 'CALLERROR must be [4, id, code, description, details]', id, type);
      }
      return { ok: true, frame: { type, id, code, description, details } };
    }
    default:
      break;
  }
  return fail(spec.unknownTypeErrorKind, `message type ${type} is not supported`, id, type);
}

function numberOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function fail(
  kind: OcppErrorKind,
  message: string,
  id: string | undefined,
  type: number | undefined,
): ParseResult {
  return { ok: false, problem: { kind, message, id, type } };
}

/**
 * Typed values for the uplink mapping:
 * - a mapping entry's `type` (the ThingsBoard gateway converters' names) converts the rendered
 *   value, or the datapoint is skipped and counted when it cannot be converted;
 * - OCPP 1.6 `sampledValue.value` is text by schema (SampledValue: "Value as a String"), so readings
 *   such as "28.24" are published as numbers unless the entry sets `sampledValuesAsText`.
 */
import type { ValueType } from '../config/csms-types.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthExceeds } from '../json-depth.js';

/** JSON number grammar (RFC 8259 §6), so that "0x1A", "1e", " 5" or "Infinity" stay text. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export function numberFromText(text: string): number | undefined {
  if (!JSON_NUMBER.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export type Converted = { ok: true; value: unknown } | { ok: false };

const FAILED: Converted = Object.freeze({ ok: false });

/**
 * Converts a rendered value to `type`, as the ThingsBoard gateway's converters would. `json` text
 * nested deeper than `maxJsonDepth` is not converted: parsed, it could not be serialised again.
 */
export function convertValue(
  type: ValueType,
  value: unknown,
  maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Converted {
  switch (type) {
    case 'string':
      return { ok: true, value: typeof value === 'string' ? value : JSON.stringify(value) };
    case 'double': {
      const n = toNumber(value);
      return n === undefined ? FAILED : { ok: true, value: n };
    }
    case 'long':
    case 'integer': {
      // Like Python's int(): toward zero.
      const n = toNumber(value);
      if (n === undefined) return FAILED;
      const i = Math.trunc(n);
      return Number.isSafeInteger(i) ? { ok: true, value: i } : FAILED;
    }
    case 'boolean':
      return toBoolean(value);
    case 'json':
      if (typeof value !== 'string') return { ok: true, value };
      if (jsonDepthExceeds(value, maxJsonDepth)) return FAILED;
      try {
        return { ok: true, value: JSON.parse(value) as unknown };
      } catch {
        return FAILED;
      }
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return numberFromText(value.trim());
  if (typeof value === 'boolean') return value ? 1 : 0;
  return undefined;
}

function toBoolean(value: unknown): Converted {
  if (typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number')
    return value === 0 || value === 1 ? { ok: true, value: value === 1 } : FAILED;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true' || t === '1') return { ok: true, value: true };
    if (t === 'false' || t === '0') return { ok: true, value: false };
  }
  return FAILED;
}

/**
 * A copy of a 1.6 MeterValues (`meterValue`) or StopTransaction (`transactionData`) payload whose
 * numeric `sampledValue.value` texts are numbers; other fields are shared, not copied. The work is
 * linear in the message, which maxMessageSize already bounds.
 */
export function withNumericSampledValues(
  action: string,
  payload: Record<string, unknown>,
): Record<string, unknown> {
  const field =
    action === 'MeterValues' ? 'meterValue' : action === 'StopTransaction' ? 'transactionData' : undefined;
  if (field === undefined) return payload;
  const entries = payload[field];
  if (!Array.isArray(entries)) return payload;
  return { ...payload, [field]: entries.map(numericEntry) };
}

function numericEntry(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry;
  const e = entry as Record<string, unknown>;
  if (!Array.isArray(e.sampledValue)) return entry;
  return {
    ...e,
    sampledValue: e.sampledValue.map((s: unknown) => {
      if (typeof s !== 'object' || s === null || Array.isArray(s)) return s;
      const sample = s as Record<string, unknown>;
      // Signed meter data (format SignedData) is an opaque blob, never a number.
      if (typeof sample.value !== 'string' || sample.format === 'SignedData') return s;
      const n = numberFromText(sample.value);
      return n === undefined ? s : { ...sample, value: n };
    }),
  };
}

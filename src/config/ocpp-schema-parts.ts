/**
 * Small pieces every section of the ocpp.json schema uses: reporting a problem from inside a
 * transform (so that one parse reports every problem of the file, each at its own path), the key
 * rules of a shape, and the Python connector's case-insensitive `type`.
 */
import { z } from 'zod';
import type { KeyRules } from './keys.js';

export type Issues = z.core.ParsePayload['issues'];

export function addIssue(issues: Issues, message: string, input: unknown): void {
  issues.push({ code: 'custom', message, input });
}

/** Reports a problem from inside a transform; the transform's output is then never used. */
export function fail(issues: Issues, message: string, input: unknown): never {
  addIssue(issues, message, input);
  return z.NEVER;
}

export function rulesOf(shape: object): KeyRules {
  return { known: Object.keys(shape) };
}

/** The Python connector lower-cases `connection.type` and `security[].type` (`"TLS"` works there). */
export function lowerCaseType(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && type !== type.toLowerCase()
    ? { ...value, type: type.toLowerCase() }
    : value;
}

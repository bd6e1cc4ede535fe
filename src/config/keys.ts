/**
 * Which keys a config object may hold. Zod checks values; this checks names, separately, because
 * the two files treat names differently: in tb_gateway.json an unknown key is a warning (the
 * Python gateway keeps adding keys and its files must keep loading), in ocpp.json it is a problem
 * (a misspelt mapping key silently loses data). In both, keys the Python gateway writes and we do
 * not use are accepted and listed once.
 */
import type { PathSegment } from './report.js';

export interface KeyRules {
  /** Keys this gateway reads. */
  known: readonly string[];
  /** Keys the Python gateway reads or writes that this gateway accepts and ignores. */
  ignored?: readonly string[];
  /** Rules for the values of some keys: an object, or each item of an array. */
  children?: Readonly<Record<string, ChildRules>>;
}

/** A function picks the rules from the value itself (entries told apart by their `type`). */
export type ChildRules =
  | KeyRules
  | { each: KeyRules | ((item: Record<string, unknown>) => KeyRules | undefined) }
  | ((value: Record<string, unknown>) => KeyRules | undefined);

export interface UnknownKey {
  path: PathSegment[];
  key: string;
  /** `did you mean "host"?` or `valid keys: …`. */
  hint: string;
}

export interface KeyCheck {
  ignored: PathSegment[][];
  unknown: UnknownKey[];
}

export function checkKeys(value: unknown, rules: KeyRules, at: PathSegment[] = []): KeyCheck {
  const result: KeyCheck = { ignored: [], unknown: [] };
  walk(value, rules, at, result);
  return result;
}

function walk(value: unknown, rules: KeyRules, at: PathSegment[], result: KeyCheck): void {
  if (!isRecord(value)) return; // the schema reports the wrong type
  const ignored = rules.ignored ?? [];
  for (const key of Object.keys(value)) {
    const path = [...at, key];
    if (rules.known.includes(key)) {
      const child = rules.children?.[key];
      if (child !== undefined) walkChild(value[key], child, path, result);
    } else if (ignored.includes(key)) {
      result.ignored.push(path);
    } else {
      result.unknown.push({ path, key, hint: suggestKey(key, [...rules.known, ...ignored]) });
    }
  }
}

function walkChild(value: unknown, child: ChildRules, at: PathSegment[], result: KeyCheck): void {
  if (typeof child === 'function') {
    if (!isRecord(value)) return;
    const rules = child(value);
    if (rules !== undefined) walk(value, rules, at, result);
    return;
  }
  if ('each' in child) {
    if (!Array.isArray(value)) return;
    value.forEach((item: unknown, index) => {
      if (!isRecord(item)) return;
      const rules = typeof child.each === 'function' ? child.each(item) : child.each;
      if (rules !== undefined) walk(item, rules, [...at, index], result);
    });
    return;
  }
  walk(value, child, at, result);
}

/** Rules chosen by the object's `type`; an unknown type is the schema's problem, not ours. */
export function byType(variants: Readonly<Record<string, KeyRules>>) {
  return (value: Record<string, unknown>): KeyRules | undefined =>
    typeof value.type === 'string' && Object.hasOwn(variants, value.type.toLowerCase())
      ? variants[value.type.toLowerCase()]
      : undefined;
}

export function suggestKey(key: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // Case slips (`IdRegexpPattern`) count as one edit, not as a different word.
    const d = Math.min(
      levenshtein(key, candidate),
      levenshtein(key.toLowerCase(), candidate.toLowerCase()) + 1,
    );
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))) {
    return `did you mean ${JSON.stringify(best)}?`;
  }
  return `valid keys: ${candidates.join(', ')}`;
}

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

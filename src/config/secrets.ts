/**
 * Secrets in configuration published to ThingsBoard (remote configuration). The Python gateway
 * publishes tb_gateway.json's `thingsboard` section and every connector's file as they are — the
 * gateway's access token and the charge points' passwords and tokens included — as client
 * attributes of the gateway device, readable by anyone who may read that device. Here every secret
 * value is replaced by a placeholder `"<secret:N>"`, N counting the secrets of the current file in
 * document order. A configuration that comes back from ThingsBoard holding placeholders gets the
 * current file's values put back, so editing a connector on the gateway page keeps its passwords.
 */
import { isRecord } from './keys.js';

/** Keys whose value (or every item / value beneath it) is a secret. */
const SECRET_KEYS = new Set([
  'accessToken',
  'password',
  'passwords',
  'tokens',
  'token',
  'secret',
  'secrets',
  'apiKey',
]);

const PLACEHOLDER = /^<secret:(\d+)>$/;
const MAX_DEPTH = 64;

export function placeholder(n: number): string {
  return `<secret:${n}>`;
}

/** The secret strings of `doc`, in document order (the numbering of the placeholders). */
export function collectSecrets(doc: unknown): string[] {
  const out: string[] = [];
  walk(doc, false, 0, (value) => {
    out.push(value);
    return value;
  });
  return out;
}

/** A copy of `doc` with every secret replaced by its placeholder. */
export function redactSecrets<T>(doc: T): T {
  let n = 0;
  return walk(doc, false, 0, () => placeholder(++n)) as T;
}

export type Restored = { ok: true; doc: unknown } | { ok: false; unknown: string[] };

/** `doc` (from ThingsBoard) with its placeholders replaced by the secrets of `current` (the file). */
export function restoreSecrets(doc: unknown, current: unknown): Restored {
  const secrets = collectSecrets(current);
  const unknown: string[] = [];
  const restored = mapStrings(doc, 0, (s) => {
    const m = PLACEHOLDER.exec(s);
    if (!m) return s;
    const value = secrets[Number(m[1]) - 1];
    if (value === undefined) {
      unknown.push(s);
      return s;
    }
    return value;
  });
  return unknown.length > 0 ? { ok: false, unknown } : { ok: true, doc: restored };
}

/** Copies `value`, passing every secret string through `replace`. */
function walk(value: unknown, secret: boolean, depth: number, replace: (s: string) => string): unknown {
  if (depth > MAX_DEPTH) return value;
  if (typeof value === 'string') return secret ? replace(value) : value;
  if (Array.isArray(value)) return value.map((v) => walk(v, secret, depth + 1, replace));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: walk(v, secret || SECRET_KEYS.has(k), depth + 1, replace),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function mapStrings(value: unknown, depth: number, map: (s: string) => string): unknown {
  if (depth > MAX_DEPTH) return value;
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, depth + 1, map));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: mapStrings(v, depth + 1, map),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((v, i) => jsonEqual(v, b[i], depth + 1))
    );
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k], depth + 1));
  }
  return false;
}

/** Nesting depth of a JSON value (bounded at `limit + 1`). */
export function jsonDepth(value: unknown, limit: number, depth = 0): number {
  if (depth > limit) return depth;
  let max = depth;
  if (Array.isArray(value)) for (const v of value) max = Math.max(max, jsonDepth(v, limit, depth + 1));
  else if (isRecord(value))
    for (const v of Object.values(value)) max = Math.max(max, jsonDepth(v, limit, depth + 1));
  return max;
}

/**
 * Secrets in configuration published to ThingsBoard (remote configuration). The Python gateway
 * publishes tb_gateway.json's `thingsboard` section and every connector's file as they are — the
 * gateway's access token and the charge points' passwords and tokens included — as client
 * attributes of the gateway device, readable by anyone who may read that device. Here every secret
 * value is replaced by a placeholder `"<secret:N>"`, N counting the secrets of the current file in
 * document order. A configuration that comes back from ThingsBoard holding placeholders gets the
 * current file's values put back, so editing a connector on the gateway page keeps its passwords.
 *
 * idTokens are secrets too (a card number charges on someone's account): the keys of
 * `authorization.idTokens` (ocpp.json's token list) become placeholders as well, as do their
 * `groupId`s and the `idTokenHashKey`.
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
  // authorization (ocpp.json): the HMAC key of hashed idTokens, and a token's group (an idToken).
  'idTokenHashKey',
  'groupId',
]);

/** Keys whose object value is keyed by secrets (`authorization.idTokens`: idToken → entry). */
const SECRET_KEYED = new Set(['idTokens']);

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

export type Restored =
  | { ok: true; doc: unknown }
  /**
   * `unknown`: placeholders the file has no secret for. `misplaced`: placeholders where no secret
   * belongs — restoring them would publish a secret in clear under a key that is not one.
   */
  | { ok: false; unknown: string[]; misplaced?: string[] };

/**
 * `doc` (from ThingsBoard) with its placeholders replaced by the secrets of `current` (the file).
 * A placeholder is restored only where a secret belongs (beneath a secret key, or as a key of
 * `idTokens`), so that no edit can move a secret to a place that is published in clear.
 */
export function restoreSecrets(doc: unknown, current: unknown): Restored {
  const secrets = collectSecrets(current);
  const unknown: string[] = [];
  const misplaced: string[] = [];
  const restore = (s: string, secret: boolean): string => {
    const m = PLACEHOLDER.exec(s);
    if (!m) return s;
    if (!secret) {
      misplaced.push(s);
      return s;
    }
    const value = secrets[Number(m[1]) - 1];
    if (value === undefined) {
      unknown.push(s);
      return s;
    }
    return value;
  };
  const restored = walk(doc, false, 0, restore, false, true);
  if (misplaced.length > 0) return { ok: false, unknown, misplaced };
  return unknown.length > 0 ? { ok: false, unknown } : { ok: true, doc: restored };
}

/** Why a configuration from ThingsBoard could not get its secrets back, for the operator. */
export function restoreFailure(r: Extract<Restored, { ok: false }>, file: string): string {
  if (r.misplaced && r.misplaced.length > 0) {
    return `${r.misplaced.join(', ')} stands where no secret of ${file} belongs: type the value itself`;
  }
  return `${r.unknown.join(', ')} refers to no secret of ${file}: type the value again`;
}

/**
 * Copies `value`, passing secret strings through `replace`; with `secretKeys` the object's own
 * keys are secrets (each replaced before what is beneath it, so numbering is document order).
 * With `all`, every string goes through `replace`, told whether it stands where a secret belongs.
 */
function walk(
  value: unknown,
  secret: boolean,
  depth: number,
  replace: (s: string, secret: boolean) => string,
  secretKeys = false,
  all = false,
): unknown {
  // Beyond the bound nothing is shown: a secret nested there would be published in clear.
  if (depth > MAX_DEPTH) return all ? value : null;
  if (typeof value === 'string') return secret || all ? replace(value, secret) : value;
  if (Array.isArray(value)) return value.map((v) => walk(v, secret, depth + 1, replace, false, all));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = secretKeys || all ? replace(k, secretKeys) : k;
      Object.defineProperty(out, key, {
        value: walk(
          v,
          secret || SECRET_KEYS.has(k),
          depth + 1,
          replace,
          SECRET_KEYED.has(k) && isRecord(v),
          all,
        ),
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

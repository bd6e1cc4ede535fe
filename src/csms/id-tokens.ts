/**
 * idTokens as the Central System sees them: the shape of a list entry (from ocpp.json or the
 * gateway device's `ocppIdTokens` attribute, validated by the same code), case-insensitive lookup
 * (OCPP 1.6 IdToken is a CiString; 2.0.1/2.1 idToken is case-insensitive), and how a token is
 * shown outside the gateway: masked or hashed, never in clear.
 */
import { createHash, createHmac } from 'node:crypto';
import { maskIdToken } from '../ocpp/redact.js';
import {
  AUTHORIZATION_STATUSES,
  type AuthorizationStatus,
  type IdTokenEntry,
  type IdTokenPresentation,
} from '../config/csms-types.js';

const STATUSES: ReadonlySet<string> = new Set(AUTHORIZATION_STATUSES);
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
const ENTRY_KEYS: ReadonlySet<string> = new Set(['status', 'expiryDate', 'groupId', 'type']);
/** OCPP 2.1 idToken is at most 255 characters, the longest of the three versions. */
export const MAX_ID_TOKEN_LENGTH = 255;

export function isAuthorizationStatus(v: unknown): v is AuthorizationStatus {
  return typeof v === 'string' && STATUSES.has(v);
}

export function isRfc3339(v: unknown): v is string {
  return typeof v === 'string' && RFC3339.test(v) && Number.isFinite(Date.parse(v));
}

/** The lookup key of a token: OCPP compares idTokens case-insensitively. */
export function idTokenKey(token: string): string {
  return token.toUpperCase();
}

/** One list entry, or what is wrong with it (the message never contains the token). */
export function parseIdTokenEntry(
  value: unknown,
): { ok: true; entry: IdTokenEntry } | { ok: false; problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'expected an object {"status", "expiryDate"?, "groupId"?, "type"?}' };
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!ENTRY_KEYS.has(key)) {
      return {
        ok: false,
        problem: `unknown key ${JSON.stringify(key)} (valid: ${[...ENTRY_KEYS].join(', ')})`,
      };
    }
  }
  if (!isAuthorizationStatus(v.status)) {
    return { ok: false, problem: `status: expected one of ${AUTHORIZATION_STATUSES.join(', ')}` };
  }
  const entry: IdTokenEntry = { status: v.status };
  if (v.expiryDate !== undefined) {
    if (!isRfc3339(v.expiryDate)) return { ok: false, problem: 'expiryDate: expected an RFC 3339 date-time' };
    entry.expiryDate = v.expiryDate;
  }
  if (v.groupId !== undefined) {
    if (typeof v.groupId !== 'string' || v.groupId === '' || v.groupId.length > MAX_ID_TOKEN_LENGTH) {
      return { ok: false, problem: 'groupId: expected the idToken of the group (a non-empty string)' };
    }
    entry.groupId = v.groupId;
  }
  if (v.type !== undefined) {
    if (typeof v.type !== 'string' || v.type === '' || v.type.length > 20) {
      return { ok: false, problem: 'type: expected an IdTokenEnumType such as "ISO14443"' };
    }
    entry.type = v.type;
  }
  return { ok: true, entry };
}

/**
 * A whole list (`{"<idToken>": {…}, …}`), keyed case-insensitively. Bad entries are left out and
 * described by their position and a masked token, so a problem report never shows a token.
 */
export function parseIdTokenList(
  value: unknown,
  maxEntries: number,
): { entries: Map<string, { token: string; entry: IdTokenEntry }>; problems: string[] } {
  const entries = new Map<string, { token: string; entry: IdTokenEntry }>();
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('expected an object of idToken → {"status", "expiryDate"?, "groupId"?}');
    return { entries, problems };
  }
  let index = 0;
  for (const [token, raw] of Object.entries(value)) {
    index++;
    if (entries.size >= maxEntries) {
      problems.push(`more than ${maxEntries} entries: the rest are ignored`);
      break;
    }
    if (token === '' || token.length > MAX_ID_TOKEN_LENGTH) {
      problems.push(`entry ${index}: an idToken is 1 to ${MAX_ID_TOKEN_LENGTH} characters`);
      continue;
    }
    const parsed = parseIdTokenEntry(raw);
    if (!parsed.ok) {
      problems.push(`entry ${index} (${maskIdToken(token)}): ${parsed.problem}`);
      continue;
    }
    entries.set(idTokenKey(token), { token, entry: parsed.entry });
  }
  return { entries, problems };
}

/** How tokens are shown in telemetry and logs, per `authorization.idTokenInTelemetry`. */
export class IdTokenPresenter {
  private readonly mode: IdTokenPresentation;
  private readonly key: string | undefined;

  constructor(mode: IdTokenPresentation, hashKey?: string) {
    this.mode = mode;
    this.key = hashKey;
  }

  present(token: string): string {
    if (this.mode === 'masked') return maskIdToken(token);
    // Hashed on the case-folded token, so the same card always gives the same value. Card UIDs are
    // short: without a key an unkeyed hash can be reversed by trying them all, hence the HMAC.
    const normalized = idTokenKey(token);
    const digest =
      this.key === undefined
        ? createHash('sha256').update(normalized).digest('hex')
        : createHmac('sha256', this.key).update(normalized).digest('hex');
    return `sha256:${digest.slice(0, 16)}`;
  }
}

export { maskIdToken };

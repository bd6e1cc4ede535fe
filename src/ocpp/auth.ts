/**
 * Charge point authentication at the WebSocket handshake (OCPP security profiles 1 and 2: HTTP
 * Basic; plus bearer tokens as the Python connector has them). Comparisons run in constant time
 * and nothing here returns or logs a secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SecurityRule } from '../config/types.js';

/**
 * `ambiguous`: the request itself is malformed (HTTP 400), not merely unauthenticated (401).
 * `downgrade`: refused for a lower security profile than the station used before (counted apart).
 * `busy`: not decided in time (the password check waited too long): HTTP 503, to be retried.
 */
export type AuthResult =
  { ok: true } | { ok: false; reason: string; ambiguous?: boolean; downgrade?: boolean; busy?: boolean };

function sameSecret(a: string, b: string): boolean {
  // Hash first so that lengths never leak and timingSafeEqual gets equal-length buffers.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * RFC 7235 §2.1: the auth scheme is case-insensitive (`bearer` = `Bearer`), the credentials after
 * it are not. Both sides of a token comparison are put in this form; a value with no space (a bare
 * token) is compared as it is.
 */
function canonicalCredentials(value: string): string {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(.*)$/s.exec(value);
  return m ? `${m[1]!.toLowerCase()} ${m[2]!}` : value;
}

export function parseBasic(header: string): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** OCPP security whitepaper A00.FR.203: the identity is the last segment of the URL path. */
export function identityOf(chargePointId: string): string {
  const slash = chargePointId.lastIndexOf('/');
  return slash < 0 ? chargePointId : chargePointId.slice(slash + 1);
}

function checkRule(rule: SecurityRule, header: string | undefined, chargePointId: string): AuthResult {
  if (header === undefined) return { ok: false, reason: 'no Authorization header' };
  switch (rule.type) {
    case 'token': {
      let match = false;
      const given = canonicalCredentials(header);
      for (const token of rule.tokens) match = sameSecret(given, canonicalCredentials(token)) || match;
      return match ? { ok: true } : { ok: false, reason: 'token not accepted' };
    }
    case 'basic': {
      const given = parseBasic(header);
      if (!given) return { ok: false, reason: 'Authorization is not HTTP Basic' };
      if (rule.usernameIsChargePointId) {
        const identity = identityOf(chargePointId);
        if (given.username !== identity) {
          return { ok: false, reason: 'Basic username does not equal the charge point identity' };
        }
        const plain = rule.passwords.get(identity);
        const hash = rule.passwordHashes.get(identity);
        let match = plain !== undefined && sameSecret(given.password, plain);
        if (hash !== undefined) {
          const digest = createHash('sha256').update(given.password).digest('hex');
          match = sameSecret(digest, hash) || match;
        }
        for (const c of rule.credentials) {
          if (c.username === identity) match = sameSecret(given.password, c.password) || match;
        }
        return match ? { ok: true } : { ok: false, reason: 'Basic password not accepted' };
      }
      let match = false;
      for (const c of rule.credentials) {
        match = (sameSecret(given.username, c.username) && sameSecret(given.password, c.password)) || match;
      }
      return match ? { ok: true } : { ok: false, reason: 'Basic credentials not accepted' };
    }
  }
}

/**
 * The handshake's one Authorization header. Node keeps only the first of several; which one a
 * proxy or the charge point meant is unknowable, so ambiguous credentials are refused rather than
 * guessed.
 */
export function authorizationOf(
  req: IncomingMessage,
): { ok: true; header: string | undefined } | { ok: false; reason: string; ambiguous: true } {
  const headers = req.headersDistinct.authorization;
  if (headers !== undefined && headers.length > 1) {
    return { ok: false, reason: 'several Authorization headers', ambiguous: true };
  }
  return { ok: true, header: headers?.[0] };
}

/** Any one rule admits; no rules = no authentication. */
export function authenticate(
  rules: readonly SecurityRule[],
  req: IncomingMessage,
  chargePointId: string,
): AuthResult {
  if (rules.length === 0) return { ok: true };
  const authorization = authorizationOf(req);
  if (!authorization.ok) return authorization;
  const { header } = authorization;
  const reasons: string[] = [];
  for (const rule of rules) {
    const r = checkRule(rule, header, chargePointId);
    if (r.ok) return r;
    reasons.push(r.reason);
  }
  return { ok: false, reason: [...new Set(reasons)].join('; ') };
}

export function challengeHeader(rules: readonly SecurityRule[]): string {
  return rules.some((r) => r.type === 'basic')
    ? 'Basic realm="OCPP", charset="UTF-8"'
    : 'Bearer realm="OCPP"';
}

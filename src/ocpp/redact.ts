/**
 * What of an OCPP frame may be shown to an operator (logs, the status page): everything but
 * credentials. Passwords, authorization keys and secrets are replaced whole; idTags/idTokens are
 * masked to their last characters (an operator can still tell two cards apart); in any string, a
 * PEM private key is replaced whole, the password of a URL (`ftp://user:pass@host/`, GetDiagnostics
 * and GetLog locations) and the token of a gateway upload URL (`/uploads/<token>/`) are masked.
 * Certificates are public and shown. Used only when a frame is logged or captured, never on the
 * plain hot path.
 */

/** Property names whose string value is a secret wherever they appear (1.6 and 2.x). */
const SECRET_NAME = /password|passwd|passphrase|secret|authorizationkey|privatekey|simpin/i;
/** Property names that carry an idTag / idToken (a card number: masked, not removed). */
const ID_TOKEN_NAMES = new Set(['idTag', 'parentIdTag', 'idToken', 'additionalIdToken']);
/** 1.6 configuration keys / 2.x variable names whose value is a credential. */
const SECRET_SETTING = /password|secret|authorizationkey|key$/i;

export const REDACTED = '***';

/** A PEM private key of any kind (PKCS#8, RSA, EC, encrypted), whole, or cut off at the end. */
const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]{0,32}PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]{0,32}PRIVATE KEY-----|$)/g;
/**
 * `scheme://user:password@` → the password. Every repetition is bounded, so that a hostile frame
 * (a megabyte of `a.a.a.…://`) costs linear time.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^/\s:@"\\]{0,128}):[^@/\s"\\]{0,256}@/gi;
/** The gateway's upload URLs carry a per-request token as the segment after `/uploads/`. */
const UPLOAD_TOKEN = /(\/uploads\/)[A-Za-z0-9_-]{16,}/g;

/** A string with the credentials it may embed masked (cheap checks first: most strings hold none). */
export function redactString(value: string): string {
  let out = value;
  if (out.includes('PRIVATE KEY-----')) out = out.replace(PEM_PRIVATE_KEY, REDACTED);
  if (out.includes('://')) out = out.replace(URL_PASSWORD, `$1:${REDACTED}@`);
  if (out.includes('/uploads/')) out = out.replace(UPLOAD_TOKEN, `$1${REDACTED}`);
  return out;
}

/** Deeper than any OCPP payload; a frame nested further is shown as this marker below the bound. */
const MAX_DEPTH = 32;

/**
 * `TAG1` → `***1`, `04A1B2C3D4E5F6` → `***********5F6`: the end of a card number is what an
 * operator recognises on the card, and at most a quarter of it (≤ 4 characters) is shown. The one
 * mask of the product: frame logs, the status page, telemetry and the state store's views.
 */
export function maskIdToken(token: string): string {
  const shown = Math.min(4, Math.floor(token.length / 4));
  return '*'.repeat(token.length - shown) + token.slice(token.length - shown);
}

/** The frame text with credentials replaced; a frame that is not JSON is masked by pattern. */
export function redactFrameText(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactUnparsed(text);
  }
  return JSON.stringify(redactValue(parsed, 0, undefined));
}

/** A copy of an OCPP payload (or whole frame) with credentials replaced. */
export function redactValue(value: unknown, depth = 0, parentKey?: string): unknown {
  if (depth > MAX_DEPTH) return '(nested too deep)';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, parentKey));
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  const input = value as Record<string, unknown>;
  // Null prototype: a frame's "__proto__" key is data here, like any other.
  const out = Object.create(null) as Record<string, unknown>;
  const secretSetting = holdsSecretSetting(input);
  for (const [key, v] of Object.entries(input)) {
    if (typeof v === 'string') {
      if (SECRET_NAME.test(key) || (parentKey === 'vpn' && key === 'key')) out[key] = REDACTED;
      else if (ID_TOKEN_NAMES.has(key)) out[key] = maskIdToken(v);
      else if (secretSetting && (key === 'value' || key === 'attributeValue')) out[key] = REDACTED;
      else out[key] = redactString(v);
    } else if (secretSetting && key === 'variableAttribute' && Array.isArray(v)) {
      out[key] = v.map((a: unknown) =>
        typeof a === 'object' && a !== null && 'value' in a ? { ...a, value: REDACTED } : a,
      );
    } else {
      out[key] = redactValue(v, depth + 1, key);
    }
  }
  return out;
}

/**
 * 1.6 `{"key": "AuthorizationKey", "value": …}` (ChangeConfiguration, GetConfiguration answers)
 * and 2.x `{"variable": {"name": "BasicAuthPassword"}, "attributeValue": …}` (Set/GetVariables,
 * NotifyReport).
 */
function holdsSecretSetting(o: Record<string, unknown>): boolean {
  if (typeof o.key === 'string' && 'value' in o && SECRET_SETTING.test(o.key)) return true;
  const variable = o.variable;
  if (typeof variable === 'object' && variable !== null) {
    const name = (variable as Record<string, unknown>).name;
    return typeof name === 'string' && SECRET_SETTING.test(name);
  }
  return false;
}

const UNPARSED_SECRET =
  /("(?:[^"\\]*(?:password|passwd|passphrase|secret|authorizationkey|privatekey|idtag|idtoken)[^"\\]*)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

function redactUnparsed(text: string): string {
  return redactString(text.replace(UNPARSED_SECRET, `$1"${REDACTED}"`));
}

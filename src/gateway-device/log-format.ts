/**
 * Log lines as the Python gateway sends them to ThingsBoard (tb_handler.py), so that the gateway
 * page's log widget reads them: the widget takes the level from `|LEVEL|` and shows the text from
 * the first `[` on. Format: `<date time,ms> - |LEVEL|<thread> [file] - module func - line - message`.
 * Ours: `2026-11-23 10:00:00,123 - |INFO|<main> [OCPP Connector] - connector - 0 - charge point connected {"chargePointId":"CP_1"}`.
 */
import { maskIdToken, redactString } from '../ocpp/redact.js';

/** pino level numbers ↔ Python level names (RemoteLoggingLevel, logLevel of a connector). */
export const PYTHON_LEVELS: Readonly<Record<string, number>> = {
  TRACE: 10,
  DEBUG: 20,
  INFO: 30,
  WARNING: 40,
  WARN: 40,
  ERROR: 50,
  CRITICAL: 60,
  FATAL: 60,
};

/** A Python level name → pino level; NONE (or anything unknown) → Infinity (nothing). */
export function levelFromName(name: unknown): number {
  if (typeof name !== 'string') return Infinity;
  const upper = name.trim().toUpperCase();
  return Object.hasOwn(PYTHON_LEVELS, upper) ? (PYTHON_LEVELS[upper] ?? Infinity) : Infinity;
}

function levelName(level: number): string {
  if (level >= 60) return 'CRITICAL';
  if (level >= 50) return 'ERROR';
  if (level >= 40) return 'WARNING';
  if (level >= 30) return 'INFO';
  if (level >= 20) return 'DEBUG';
  return 'TRACE';
}

/** The level of a pino JSON line without parsing it (pino writes `{"level":30,` first). */
export function pinoLevelOf(line: string): number {
  if (line.startsWith('{"level":')) {
    let n = 0;
    for (let i = 9; i < line.length && i < 13; i++) {
      const c = line.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return n;
      n = n * 10 + c;
    }
    return n;
  }
  const m = /"level":(\d+)/.exec(line);
  return m ? Number(m[1]) : 0;
}

const SECRET_FIELD =
  /("(?:accessToken|password|passwords|passwordHash|token|tokens|authorization|authorizationKey|secret|privateKey|idTokenHashKey)"\s*:\s*)("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\})/gi;
/** Fields holding a card number: masked as everywhere else (the last characters of a long one). */
const ID_TOKEN_FIELD =
  /("(?:idTag|parentIdTag|idToken|additionalIdToken|groupIdToken)"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
const HTTP_CREDENTIAL = /\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]+/g;
/** Literal secrets shorter than this are not searched for: they would mask ordinary text. */
const MIN_SECRET_LENGTH = 4;

/**
 * The literal secrets the gateway knows (its access token, every password and password hash of
 * the configuration), found in a line in one pass: secrets are indexed by their first characters,
 * so a line costs a lookup per character however many thousand charge points have a password.
 */
export class LiteralSecrets {
  private readonly byPrefix = new Map<string, string[]>();

  constructor(secrets: Iterable<string>) {
    for (const s of new Set(secrets)) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      const key = s.slice(0, MIN_SECRET_LENGTH);
      const list = this.byPrefix.get(key);
      if (list) list.push(s);
      else this.byPrefix.set(key, [s]);
    }
    // The longest first: a secret that starts another one is not left half shown.
    for (const list of this.byPrefix.values()) list.sort((a, b) => b.length - a.length);
  }

  replace(text: string): string {
    if (this.byPrefix.size === 0) return text;
    let out = '';
    let last = 0;
    let i = 0;
    while (i + MIN_SECRET_LENGTH <= text.length) {
      const hit = this.byPrefix.get(text.slice(i, i + MIN_SECRET_LENGTH))?.find((s) => text.startsWith(s, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      out += `${text.slice(last, i)}***`;
      i += hit.length;
      last = i;
    }
    return last === 0 ? text : out + text.slice(last);
  }
}

function maskIdTokenText(value: string): string {
  // Already masked (`********1234`) or hashed (`sha256:…`) where it was logged: kept.
  if (value.startsWith('*') || value.startsWith('sha256:')) return value;
  return maskIdToken(value);
}

/**
 * Removes secrets from a line: the values of secret-named JSON fields, `Bearer …`/`Basic …`
 * credentials, private keys and URL passwords anywhere, idTokens masked, and every literal secret
 * the gateway knows (its access token, passwords).
 */
export function redact(text: string, secrets: LiteralSecrets | readonly string[]): string {
  const out = redactString(
    text
      .replace(SECRET_FIELD, '$1"***"')
      .replace(ID_TOKEN_FIELD, (_, field: string, value: string) => `${field}"${maskIdTokenText(value)}"`)
      .replace(HTTP_CREDENTIAL, '$1 ***'),
  );
  return (secrets instanceof LiteralSecrets ? secrets : new LiteralSecrets(secrets)).replace(out);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function pythonTime(time: unknown): string {
  const d = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  return (
    `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ` +
    `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())},${pad(t.getUTCMilliseconds(), 3)}`
  );
}

const OWN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One pino record as a Python-gateway log line, secrets removed. */
export function formatLine(
  level: number,
  record: Record<string, unknown>,
  secrets: LiteralSecrets | readonly string[],
): string {
  const source =
    typeof record.connector === 'string'
      ? record.connector
      : typeof record.component === 'string'
        ? record.component
        : 'gateway';
  const fields: Record<string, unknown> = {};
  let any = false;
  for (const [k, v] of Object.entries(record)) {
    if (OWN_FIELDS.has(k) || k === 'connector' || k === 'component') continue;
    fields[k] = v;
    any = true;
  }
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const extra = any ? ` ${JSON.stringify(fields)}` : '';
  return redact(
    `${pythonTime(record.time)} - |${levelName(level)}|<main> [${source}] - ${source} - 0 - ${msg}${extra}`,
    secrets,
  );
}

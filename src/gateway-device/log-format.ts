/**
 * Log lines as the Python gateway sends them to ThingsBoard (tb_handler.py), so that the gateway
 * page's log widget reads them: the widget takes the level from `|LEVEL|` and shows the text from
 * the first `[` on. Format: `<date time,ms> - |LEVEL|<thread> [file] - module func - line - message`.
 * Ours: `2026-11-23 10:00:00,123 - |INFO|<main> [OCPP Connector] - connector - 0 - charge point connected {"chargePointId":"CP_1"}`.
 */

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
  /("(?:accessToken|password|passwords|token|tokens|authorization|secret|privateKey)"\s*:\s*)("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\})/gi;
const HTTP_CREDENTIAL = /\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]+/g;

/**
 * Removes secrets from a line: the values of secret-named JSON fields, `Bearer …`/`Basic …`
 * credentials, and every literal secret the gateway knows (its access token, passwords).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(SECRET_FIELD, '$1"***"').replace(HTTP_CREDENTIAL, '$1 ***');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
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
  secrets: readonly string[],
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

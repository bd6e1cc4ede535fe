import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** LOG_LEVEL values; `warning` is accepted for `warn` (the Python gateway's spelling). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'silent'] as const;

export type LogLevelResult = { ok: true; level: string } | { ok: false; message: string };

/** Unset or empty = info; case-insensitive; anything else is a configuration error. */
export function parseLogLevel(raw: string | undefined): LogLevelResult {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '') return { ok: true, level: 'info' };
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    const shown = JSON.stringify(raw && raw.length > 40 ? raw.slice(0, 40) + '…' : raw);
    return { ok: false, message: `env LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${shown}` };
  }
  return { ok: true, level: value === 'warning' ? 'warn' : value };
}

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines (pino-pretty) instead of JSON lines; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Sees every line written, as JSON (remote logs, error counts: gateway-device/log-tap.ts). */
  onLine?: (line: string) => void;
}

/**
 * The process logger: JSON lines on stdout (pino) for collectors, or pretty lines on a terminal.
 * Secrets never reach it: config values that are secrets are not logged, auth failures log the
 * charge point id and the reason only, and OCPP frames are redacted before they are logged.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const { onLine } = opts;
  const options = {
    level: opts.level ?? 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(onLine
      ? {
          hooks: {
            streamWrite: (line: string) => {
              onLine(line);
              return line;
            },
          },
        }
      : {}),
  };
  if (opts.pretty ?? process.stdout.isTTY === true) {
    // Synchronous, so the last lines before process.exit() are not lost.
    return pino(options, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options);
}

/** A logger that discards everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stdout (pino). Secrets never reach it: config values that are
 * secrets are not logged, and auth failures log the charge point id and the reason only.
 */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  /** Sees every line written (remote logs, error counts: gateway-device/log-tap.ts). */
  onLine?: (line: string) => void,
): Logger {
  return pino({
    level,
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
  });
}

/** A logger that discards everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * One registry of the gateway's error codes. Every error that crosses a stage boundary is a
 * GatewayError with a stable `code`; OCPP-facing errors live in src/ocpp/errors.ts and know
 * their own OCPP-J wire form.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  TEMPLATE_SYNTAX: 'TEMPLATE_SYNTAX',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  OUTBOX_STOPPED: 'OUTBOX_STOPPED',
  DEVICE_UNKNOWN: 'DEVICE_UNKNOWN',
  RPC_FAILED: 'RPC_FAILED',
  STATE_INVALID: 'STATE_INVALID',
  TRACE_LIMIT: 'TRACE_LIMIT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
  }
}

/** One problem in a configuration file: which file, where in it (a JSON path), and what is wrong. */
export interface ConfigProblem {
  file: string;
  path: string;
  message: string;
}

export class ConfigError extends GatewayError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(ErrorCodes.CONFIG_INVALID, problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}: ${p.path || '$'}: ${p.message}`;
}

export class TemplateSyntaxError extends GatewayError {
  /** Offset in the template source where the problem was found. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(ErrorCodes.TEMPLATE_SYNTAX, message);
    this.name = 'TemplateSyntaxError';
    this.position = position;
  }
}

export class StorageError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.STORAGE_UNAVAILABLE, message, options);
    this.name = 'StorageError';
  }
}

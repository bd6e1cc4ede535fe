/**
 * What loading found: problems (the config cannot be used) and notices (it can, but say so once at
 * start-up). Every loading step writes into one ConfigReport so that a single run reports every
 * problem of every file instead of stopping at the first.
 */
import type { ConfigProblem } from '../errors.js';
import type { ConfigNotice } from './types.js';

export type PathSegment = string | number;

export class ConfigReport {
  readonly problems: ConfigProblem[] = [];
  readonly notices: ConfigNotice[] = [];

  problem(file: string, path: string, message: string): void {
    this.problems.push({ file, path, message });
  }

  info(message: string): void {
    this.notices.push({ level: 'info', message });
  }

  warn(message: string): void {
    this.notices.push({ level: 'warn', message });
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `$.chargePoints[0].idRegexpPattern`; keys that are not identifiers are bracketed and quoted. */
export function jsonPath(segments: readonly PathSegment[]): string {
  return '$' + segments.map(pathStep).join('');
}

/** `thingsboard.remoteShell`, `connectors[0].useGRPC`: the form used inside notices. */
export function dottedPath(segments: readonly PathSegment[]): string {
  return segments.map(pathStep).join('').replace(/^\./, '');
}

function pathStep(segment: PathSegment): string {
  if (typeof segment === 'number') return `[${segment}]`;
  return IDENTIFIER.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
}

/**
 * Keys whose values (or anything beneath them) are credentials. A problem under one of them names
 * the type of the value it got, never the value: messages end up in logs and CI output.
 */
const SECRET_KEYS = new Set(['password', 'passwords', 'accessToken', 'tokens', 'credentials']);

export function isSecretPath(segments: readonly PathSegment[]): boolean {
  if (segments.some((s) => typeof s === 'string' && SECRET_KEYS.has(s))) return true;
  // A scalar where a security object belongs (`"security": "Bearer …"`) is likely a credential.
  const lastKey = segments.findLast((s): s is string => typeof s === 'string');
  return lastKey === 'security';
}

const MAX_SHOWN_LENGTH = 40;

/** How a problem message shows the value it got: `"abc"`, `12`, `null`, `an object`. */
export function describeValue(value: unknown, secret: boolean): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      if (secret) return 'a string';
      const shown = value.length > MAX_SHOWN_LENGTH ? value.slice(0, MAX_SHOWN_LENGTH) + '…' : value;
      return JSON.stringify(shown);
    }
    case 'number':
    case 'boolean':
      return secret ? `a ${typeof value}` : String(value);
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  return typeof value;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a path component is not a directory',
  ELOOP: 'too many symbolic links',
};

/** `cannot read file "/x/cert.pem": ENOENT (no such file or directory)`. */
export function cannotRead(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return `cannot read file ${JSON.stringify(file)}: ${String(error)}`;
  const text = ERRNO_TEXT[code];
  return `cannot read file ${JSON.stringify(file)}: ${code}${text === undefined ? '' : ` (${text})`}`;
}

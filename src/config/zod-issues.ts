/**
 * Zod issues in our words: `$.thingsboard.port: expected an integer, got "abc"`. Zod's own
 * messages ("Invalid input: expected number, received string") name neither the value nor the
 * choices, and would print a secret as readily as a port.
 */
import type { z } from 'zod';
import { describeValue, isSecretPath, jsonPath, type ConfigReport, type PathSegment } from './report.js';

type Issue = z.core.$ZodIssue & { input?: unknown };

/**
 * Parses `value` (found at `at` in `file`) with `schema`; on failure reports every issue and
 * returns undefined.
 */
export function parseSection<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: { file: string; at: PathSegment[]; report: ConfigReport },
): z.output<T> | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues as Issue[]) {
    const path: PathSegment[] = [...where.at, ...issue.path.map(toSegment)];
    where.report.problem(where.file, jsonPath(path), issueMessage(issue, isSecretPath(path)));
  }
  return undefined;
}

function toSegment(key: PropertyKey): PathSegment {
  return typeof key === 'number' ? key : String(key);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

export function issueMessage(issue: Issue, secret: boolean): string {
  const got = (value: unknown) => describeValue(value, secret);
  switch (issue.code) {
    case 'invalid_type':
      if (!('input' in issue) || issue.input === undefined) return 'required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got(issue.input)}`;
    case 'invalid_value':
      return `expected ${choices(issue.values)}, got ${got(issue.input)}`;
    case 'too_small':
      return tooSmall(issue, got);
    case 'too_big':
      return tooBig(issue, got);
    case 'invalid_union': {
      // A discriminated union that matched no `type`: zod points the path at the discriminator.
      const discriminator = (issue as { discriminator?: string }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (discriminator !== undefined && options !== undefined) {
        const input = issue.input as Record<string, unknown> | undefined;
        const value = input?.[discriminator];
        if (value === undefined) return `required: ${choices(options)}`;
        return `expected ${choices(options)}, got ${got(value)}`;
      }
      return `not a valid value, got ${got(issue.input)}`;
    }
    // Our own issues (custom) carry their message; the others cannot arise from our schemas.
    case 'custom':
    case 'invalid_element':
    case 'invalid_format':
    case 'invalid_key':
    case 'not_multiple_of':
    case 'unrecognized_keys':
      return issue.message;
  }
}

function choices(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  if (shown.length === 1) return shown[0] ?? '';
  if (shown.length === 2) return `${shown[0]} or ${shown[1]}`;
  return `one of ${shown.join(', ')}`;
}

type Bound = { origin: string; inclusive?: boolean; input?: unknown };

function tooSmall(issue: Bound & { minimum: number | bigint }, got: (v: unknown) => string): string {
  const min = Number(issue.minimum);
  switch (issue.origin) {
    case 'string':
      return min <= 1 ? 'must not be empty' : `must be at least ${min} characters long`;
    case 'array':
      return `must have at least ${min} item${min === 1 ? '' : 's'}`;
    default:
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${min}, got ${got(issue.input)}`;
  }
}

function tooBig(issue: Bound & { maximum: number | bigint }, got: (v: unknown) => string): string {
  const max = Number(issue.maximum);
  switch (issue.origin) {
    case 'string':
      return `must be at most ${max} characters long`;
    case 'array':
      return `must have at most ${max} items`;
    default:
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${max}, got ${got(issue.input)}`;
  }
}

/**
 * `centralSystem.security` of ocpp.json: how charge points authenticate when they connect — a
 * token in the URL, HTTP Basic with listed credentials or per-charge-point passwords (inline or
 * as sha256 hashes in a passwords file), or anonymously.
 *
 * Built per file because a relative `passwordsFile` starts at that file's folder.
 */
import { z } from 'zod';
import { readConfiguredFile } from './files.js';
import { byType, type ChildRules } from './keys.js';
import { addIssue, fail, lowerCaseType, rulesOf, type Issues } from './ocpp-schema-parts.js';
import type { SecurityRule } from './types.js';

export type ParsedSecurityRule = SecurityRule | { type: 'anonymous' };

/**
 * An object of strings read into a Map. Not z.record: its output is a plain object, which drops a
 * `__proto__` key (a valid charge point id) and would let `constructor` read Object.prototype.
 */
const stringMap = z.unknown().transform((raw, ctx): Map<string, string> => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(ctx.issues, 'expected an object', raw);
  }
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') map.set(key, value);
    else ctx.issues.push({ code: 'invalid_type', expected: 'string', path: [key], input: value });
  }
  return map;
});

/** The `security` schema for an ocpp.json in `dir`, and the key names it allows. */
export function securitySchema(dir: string) {
  const CREDENTIAL_SHAPE = { username: z.string(), password: z.string() };
  const TOKEN_SHAPE = { type: z.literal('token'), tokens: z.array(z.string()) };
  const BASIC_SHAPE = {
    type: z.literal('basic'),
    credentials: z.array(z.object(CREDENTIAL_SHAPE)).default([]),
    usernameIsChargePointId: z.boolean().default(false),
    passwords: stringMap.default(new Map()),
    passwordsFile: z
      .string()
      .min(1)
      .transform((path, ctx) => {
        const read = readConfiguredFile(dir, path);
        if (!read.ok) return fail(ctx.issues, read.message, path);
        return parsePasswordsFile(read.file, read.data.toString('utf8'), ctx.issues);
      })
      .optional(),
  };
  const ANONYMOUS_SHAPE = { type: z.literal('anonymous') };
  const securityRule = z.discriminatedUnion('type', [
    z.object(TOKEN_SHAPE),
    z.object(BASIC_SHAPE).superRefine((basic, ctx) => {
      const none = basic.credentials.length === 0 && basic.passwords.size === 0;
      if (basic.usernameIsChargePointId && none && basic.passwordsFile === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['usernameIsChargePointId'],
          message: 'needs "passwords", "passwordsFile" or "credentials" to check the passwords against',
          input: true,
        });
      }
    }),
    z.object(ANONYMOUS_SHAPE),
  ]);
  const toRule = (rule: z.output<typeof securityRule>): ParsedSecurityRule =>
    rule.type === 'basic'
      ? {
          type: 'basic',
          credentials: rule.credentials,
          usernameIsChargePointId: rule.usernameIsChargePointId,
          passwords: rule.passwords,
          passwordHashes: rule.passwordsFile ?? new Map(),
        }
      : rule;
  const security = z.array(z.preprocess(lowerCaseType, securityRule.transform(toRule))).default([]);

  const keys: ChildRules = {
    each: byType({
      token: rulesOf(TOKEN_SHAPE),
      basic: {
        ...rulesOf(BASIC_SHAPE),
        children: { credentials: { each: rulesOf(CREDENTIAL_SHAPE) } },
      },
      anonymous: rulesOf(ANONYMOUS_SHAPE),
    }),
  };
  return { security, keys };
}

const PASSWORD_LINE = /^(.+):([0-9a-fA-F]{64})$/;

/**
 * `passwordsFile`: one `<charge point id>:<sha256 hex>` per line; blank lines and `#` comments
 * are skipped. Problems name the line number, never its content (a hash is still a secret).
 */
function parsePasswordsFile(file: string, text: string, issues: Issues): Map<string, string> {
  const hashes = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const before = issues.length;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('#')) return;
    const match = PASSWORD_LINE.exec(line);
    const id = match?.[1]?.trim();
    const hash = match?.[2];
    if (id === undefined || id === '' || hash === undefined) {
      addIssue(
        issues,
        `${file} line ${n}: expected "<charge point id>:<64 hex digits of sha256>"`,
        undefined,
      );
      return;
    }
    const first = lineOf.get(id);
    if (first !== undefined) {
      addIssue(
        issues,
        `${file} line ${n}: charge point ${JSON.stringify(id)} is already listed on line ${first}`,
        undefined,
      );
      return;
    }
    lineOf.set(id, n);
    hashes.set(id, hash.toLowerCase());
  });
  return issues.length === before ? hashes : z.NEVER;
}

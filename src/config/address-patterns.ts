/**
 * `chargePoints[].host` and `port`: regular expressions on the charge point's remote address and
 * port (keys the Python connector reads). Compiled once here to match the whole value, in linear
 * time like idRegexpPattern (see linear-regexp.ts); a number is taken as its decimal text
 * (`"port": 8080`).
 */
import { z } from 'zod';
import { compileLinearPattern } from './linear-regexp.js';
import type { PatternFilter } from './types.js';

export const addressPattern = z
  .union([z.string().min(1), z.number().int().min(0)])
  .transform((raw, ctx): PatternFilter => {
    const pattern = String(raw);
    const compiled = compileLinearPattern(pattern);
    if (compiled.ok) return { pattern, regexp: compiled.regexp };
    ctx.issues.push({ code: 'custom', message: compiled.reason, input: raw });
    return z.NEVER;
  })
  .optional();

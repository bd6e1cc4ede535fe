/**
 * Regular expressions from the configuration that are matched against text a stranger chooses
 * (`idRegexpPattern` against the charge point id, before any authentication). V8's default engine
 * backtracks: `cp/(a|a)*` takes minutes on an id of 60 `a`s, and `.*.*.*.*.*x` seconds on 128
 * characters, blocking the whole event loop. So such patterns run on V8's linear-time engine
 * (the `l` flag, enabled with --enable-experimental-regexp-engine): matching costs at most
 * pattern × input length, whatever the pattern. A pattern that engine cannot run (a back-reference
 * or a lookaround) is refused at config load with the reason.
 *
 * If a future Node drops that engine, patterns fall back to the backtracking engine but only
 * after safe-regex2 checked them for nested quantifiers (star height > 1); ids are bounded in
 * length (`maxChargePointIdLength`) either way.
 */
import { setFlagsFromString } from 'node:v8';
import safeRegex from 'safe-regex2';

export type CompiledPattern = { ok: true; regexp: RegExp } | { ok: false; reason: string };

const NOT_LINEAR = /cannot be executed in linear time/i;
/** In a variable: linters and type checkers do not know V8's experimental `l` flag. */
const LINEAR_FLAG = 'l';

function linearEngineAvailable(): boolean {
  // The flag is process-wide and idempotent; it only adds the `l` flag, nothing else changes.
  setFlagsFromString('--enable-experimental-regexp-engine');
  try {
    new RegExp('a', LINEAR_FLAG);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles `pattern` to match a whole string (`^(?:…)$`) in linear time. `engine` is for tests of
 * the fallback: by default the linear engine is used when this Node has it.
 */
export function compileLinearPattern(
  pattern: string,
  engine: 'auto' | 'backtracking' = 'auto',
): CompiledPattern {
  const linear = engine === 'auto' && linearEngineAvailable();
  try {
    // Alone first: wrapped in `(?:…)`, an unbalanced pattern such as `a)|(b` would compile and
    // silently match differently.
    new RegExp(pattern);
  } catch (error) {
    const reason = String((error as Error).message).replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      '',
    );
    return { ok: false, reason: `invalid regular expression: ${reason}` };
  }
  const anchored = '^(?:' + pattern + ')$';
  if (linear) {
    try {
      return { ok: true, regexp: new RegExp(anchored, LINEAR_FLAG) };
    } catch (error) {
      if (!NOT_LINEAR.test(String((error as Error).message))) throw error;
      return {
        ok: false,
        reason:
          'uses a back-reference or a lookaround, which cannot be matched in linear time; ' +
          'it is matched against ids that anyone connecting chooses, so write it without them',
      };
    }
  }
  if (!safeRegex(pattern)) {
    return {
      ok: false,
      reason:
        'may take exponential time (a quantifier inside a quantified group, such as (a+)+); ' +
        'it is matched against ids that anyone connecting chooses, so write it without nesting quantifiers',
    };
  }
  return { ok: true, regexp: new RegExp(anchored) };
}

/**
 * How deep JSON from outside may nest. V8's JSON.parse is iterative and copes with any depth, but
 * JSON.stringify, schema validation and every recursive walk after it are not: a value nested
 * 5,000 levels deep overflows the stack wherever it is next serialised. So every JSON text from a
 * charge point or from ThingsBoard is measured before it is trusted, in one linear pass over the
 * text that allocates nothing.
 */

/** Default bound on nesting (objects and arrays); OCPP's deepest schemas need about 8. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/**
 * True when `text` nests objects/arrays more than `max` levels deep (`[]` is depth 1). Brackets
 * inside strings do not count. Meant for text that is then given to JSON.parse: on text that is
 * not JSON the answer is only an upper bound, and the parse will refuse it anyway.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  // A text too short to hold max+1 open brackets cannot exceed: most frames stop here.
  if (text.length <= max) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote: one that is not escaped by an odd run of backslashes.
      for (;;) {
        const end = text.indexOf('"', i + 1);
        if (end < 0) return false;
        let slashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** Nesting depth of a parsed value, counted without recursion and stopping past `max`. */
export function valueDepthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children as unknown[]) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
